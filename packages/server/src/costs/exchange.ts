import { z } from 'zod';
import { isCurrency, minorDigits } from '../billing/money.ts';
import { Dec } from '../shared/decimal.ts';
import { formatMicros, parseRfc3339, type EpochMicros } from '../shared/time.ts';
import { fromMinor } from './allocate.ts';

const currency = z.string().refine(isCurrency, 'an ISO 4217 currency code such as USD');

/**
 * One exchange rate (`exchangeRates[]` in the config): 1 `from` = `rate` `to`, from `effective`
 * (a UTC date or an RFC 3339 instant) until the next rate of the same pair takes effect.
 */
export const exchangeRateSchema = z
  .object({
    from: currency,
    to: currency,
    rate: z.string().regex(/^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$/, 'a positive decimal such as "1.0825" (at most 12 fractional digits)').refine((r) => Number(r) > 0, 'must be above 0'),
    effective: z
      .string()
      .refine((t) => effectiveMicros(t) !== undefined, 'a date (2026-11-01, UTC midnight) or an RFC 3339 instant')
      .describe('when the rate takes effect (UTC date or RFC 3339)'),
  })
  .strict()
  .refine((r) => r.from !== r.to, { message: 'from and to must differ', path: ['to'] });

/** A configured exchange rate. */
export type ExchangeRateConfig = z.infer<typeof exchangeRateSchema>;

/** The `exchangeRates` list. */
export const exchangeRatesSchema = z.array(exchangeRateSchema).default([]).describe('exchange rates with effective dates, for costs and margins across currencies (docs/costs.md)');

function effectiveMicros(text: string): EpochMicros | undefined {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? parseRfc3339(`${text}T00:00:00Z`) : parseRfc3339(text);
}

/** A rate as applied, stated in every converted output. */
export interface AppliedRate {
  from: string;
  to: string;
  /** 1 `from` = `rate` `to` as configured (for an inverse pair, the configured `to`→`from` rate). */
  rate: string;
  /** True when the configured rate was the other direction and the amount was divided by it. */
  inverse: boolean;
  effective: string;
}

/** A converted amount: exact product rounded once, half-even, to the target currency's minor unit. */
export interface Converted {
  amount: string;
  rate: AppliedRate;
}

/**
 * Exchange rates by pair and effective time. The rate for an instant is the pair's latest rate
 * effective at or before it; a pair configured only the other way is used inverted (the amount
 * divided by the rate), never chained through a third currency.
 */
export class ExchangeRates {
  private readonly byPair = new Map<string, { at: EpochMicros; rate: string; effective: string }[]>();

  constructor(rates: readonly ExchangeRateConfig[]) {
    for (const r of rates) {
      const k = `${r.from}>${r.to}`;
      const list = this.byPair.get(k) ?? [];
      list.push({ at: effectiveMicros(r.effective)!, rate: r.rate, effective: formatMicros(effectiveMicros(r.effective)!) });
      list.sort((a, b) => a.at - b.at);
      this.byPair.set(k, list);
    }
  }

  /** The rate converting `from` into `to` at `at`, if one is in effect. */
  rateAt(from: string, to: string, at: EpochMicros): AppliedRate | undefined {
    const pick = (k: string) => this.byPair.get(k)?.filter((r) => r.at <= at).pop();
    const direct = pick(`${from}>${to}`);
    if (direct) return { from, to, rate: direct.rate, inverse: false, effective: direct.effective };
    const back = pick(`${to}>${from}`);
    return back ? { from, to, rate: back.rate, inverse: true, effective: back.effective } : undefined;
  }

  /** Converts a decimal amount of `from` into `to` at `at`; undefined without a rate in effect. */
  convert(amount: string, from: string, to: string, at: EpochMicros): Converted | undefined {
    if (from === to) return { amount, rate: { from, to, rate: '1', inverse: false, effective: formatMicros(at) } };
    const rate = this.rateAt(from, to, at);
    if (!rate) return undefined;
    const digits = minorDigits(to);
    const exact = rate.inverse ? new Dec(amount).div(rate.rate) : new Dec(amount).times(rate.rate);
    const minor = BigInt(exact.times(new Dec(10).pow(digits)).toDecimalPlaces(0, Dec.ROUND_HALF_EVEN).toFixed());
    return { amount: fromMinor(minor, digits), rate };
  }
}
