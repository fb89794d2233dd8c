import type { Period } from '../quota/period.ts';
import { SCALE } from '../shared/decimal.ts';
import { formatMicros } from '../shared/time.ts';
import type { InvoiceLine } from './invoice.ts';
import { divHalfEven, formatAmount, minorDigits, priceToAmount, roundAmount } from './money.ts';
import type { PeriodPart } from './plan-timeline.ts';
import type { PriceConfig } from './pricing/price-schema.ts';
import { scaledDecimal } from './pricing/price-schema.ts';
import { lineView, rate } from './rate.ts';
import { normaliseFilter } from './raw-usage.ts';

/** A price that bills a meter's usage. */
export type UsagePrice = Exclude<PriceConfig, { model: 'flat' }>;

/** Lines of one period, without ids (the invoice numbers them), and their rounded sum (×10^24). */
export interface RatedPeriod {
  currency: string;
  lines: Omit<InvoiceLine, 'id'>[];
  subtotal: bigint;
}

const day = (t: number) => formatMicros(t).slice(0, 10);

/**
 * Rates a period that may be split by plan changes: each part's usage prices over that part's
 * usage (asked of `usage`, per part), each part's flat prices prorated by its share of the period
 * (its length over the period's, 12 decimals, half-even), every line rounded once; then the
 * minimum spend of the plan in effect at the period's end, over the whole period. Undefined
 * when no part is under a priced plan.
 */
export async function ratePeriod(parts: readonly PeriodPart[], period: Period, usage: (part: PeriodPart, prices: UsagePrice[]) => Promise<bigint[]>): Promise<RatedPeriod | undefined> {
  const priced = parts.filter((p) => p.plan.currency !== undefined);
  if (priced.length === 0) return undefined;
  const currency = priced[0]!.plan.currency!;
  const minor = minorDigits(currency);
  const split = parts.length > 1;
  const lines: Omit<InvoiceLine, 'id'>[] = [];
  let subtotal = 0n;
  for (const part of priced) {
    const prices = part.plan.prices;
    const usagePrices = prices.filter((p): p is UsagePrice => p.model !== 'flat');
    const used = await usage(part, usagePrices);
    const share = divHalfEven(BigInt(part.end - part.start) * SCALE, BigInt(period.end - period.start));
    let k = 0;
    const rated = rate({ currency, prices, quantities: prices.map((p) => (p.model === 'flat' ? share : used[k++]!)) });
    for (const l of rated.lines) {
      const p = prices[l.price]!;
      const view = lineView(l, currency) as Omit<InvoiceLine, 'id' | 'filter' | 'periodStart' | 'periodEnd'>;
      const name = split ? `${view.name} (${part.plan.id}, ${day(part.start)} – ${day(part.end)})` : view.name;
      lines.push({ ...view, name, filter: p.model === 'flat' ? null : normaliseFilter(p.filter), ...(p.model === 'flat' ? {} : { price: p }), periodStart: formatMicros(part.start), periodEnd: formatMicros(part.end) });
    }
    subtotal += rated.subtotal;
  }
  const last = priced[priced.length - 1]!.plan;
  if (last.minimumSpend !== undefined) {
    const minimum = roundAmount(priceToAmount(scaledDecimal(last.minimumSpend)), minor);
    if (subtotal < minimum) {
      const top = formatAmount(minimum - subtotal, minor);
      lines.push({ kind: 'minimum', name: 'Minimum spend top-up', meter: null, filter: null, quantity: '0', amount: top, amountExact: formatAmount(minimum - subtotal), tiers: [], periodStart: formatMicros(period.start), periodEnd: formatMicros(period.end) });
      subtotal = minimum;
    }
  }
  return { currency, lines, subtotal };
}
