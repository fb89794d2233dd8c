import { formatScaled } from '../shared/decimal.ts';
import { formatAmount, minorDigits, priceToAmount, roundAmount } from './money.ts';
import { pricerFor } from './pricing/pricer-for.ts';
import type { PriceConfig } from './pricing/price-schema.ts';
import { scaledDecimal } from './pricing/price-schema.ts';
import type { PricedTier } from './pricing/pricer.ts';

/** One line of an invoice before it is stored: exact and rounded amounts, ×10^24. */
export interface RatedLine {
  /** Index of the price in the plan; -1 for the minimum-spend top-up. */
  price: number;
  kind: 'flat' | 'usage' | 'minimum';
  name: string;
  meter: string | null;
  /** Usage (×10^12); for a flat price the share of the period it covers (1 = whole period). */
  quantity: bigint;
  amountExact: bigint;
  /** `amountExact` rounded once, half-even, to the currency's minor unit. */
  amount: bigint;
  tiers: PricedTier[];
}

/** A plan's prices for one period (or one part of a period split by a plan change). */
export interface RatingInput {
  currency: string;
  prices: readonly PriceConfig[];
  /** Per price, in order: the usage of its meter (×10^12), or the period share for a flat price. */
  quantities: readonly bigint[];
  minimumSpend?: string | number | undefined;
}

/** Lines, subtotal and total of one rating, ×10^24 (totals are sums of rounded lines). */
export interface Rating {
  lines: RatedLine[];
  subtotal: bigint;
}

/** The display name of a price. */
export function priceName(p: PriceConfig): string {
  return p.model === 'flat' ? p.name : (p.name ?? `${p.meter} (${p.model})`);
}

/**
 * Prices every line exactly, rounds each line once to the currency's minor unit (half-even),
 * sums the rounded lines, and tops the sum up to the minimum spend with a line of its own.
 * The one rounding rule of billing: stated here, tested in rate.test.ts.
 */
export function rate(input: RatingInput): Rating {
  const minor = minorDigits(input.currency);
  const lines: RatedLine[] = input.prices.map((p, i) => {
    const quantity = input.quantities[i] ?? 0n;
    const priced = pricerFor(p).price(quantity);
    return { price: i, kind: p.model === 'flat' ? 'flat' : 'usage', name: priceName(p), meter: p.model === 'flat' ? null : p.meter, quantity, amountExact: priced.amountExact, amount: roundAmount(priced.amountExact, minor), tiers: priced.tiers };
  });
  let subtotal = lines.reduce((s, l) => s + l.amount, 0n);
  if (input.minimumSpend !== undefined) {
    const minimum = roundAmount(priceToAmount(scaledDecimal(input.minimumSpend)), minor);
    if (subtotal < minimum) {
      const topUp = minimum - subtotal;
      lines.push({ price: -1, kind: 'minimum', name: 'Minimum spend top-up', meter: null, quantity: 0n, amountExact: topUp, amount: topUp, tiers: [] });
      subtotal = minimum;
    }
  }
  return { lines, subtotal };
}

/** A rated line as the API shows it: amounts as decimal strings (rounded with the currency's digits). */
export function lineView(l: RatedLine, currency: string): Record<string, unknown> {
  const minor = minorDigits(currency);
  return {
    kind: l.kind,
    name: l.name,
    meter: l.meter,
    quantity: formatScaled(l.quantity),
    amount: formatAmount(l.amount, minor),
    amountExact: formatAmount(l.amountExact),
    tiers: l.tiers.map((t) => ({
      from: formatScaled(t.from),
      to: t.to === null ? null : formatScaled(t.to),
      quantity: formatScaled(t.quantity),
      unitPrice: formatScaled(t.unitPrice),
      flatAmount: t.flatAmount === null ? null : formatScaled(t.flatAmount),
      amount: formatAmount(t.amountExact),
    })),
  };
}
