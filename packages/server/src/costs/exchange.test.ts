import { Decimal as D } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../shared/time.ts';
import { ExchangeRates, exchangeRateSchema } from './exchange.ts';

const at = (t: string) => parseRfc3339(t)!;
/** Enough digits for 10^13 × 10^3 amounts and their quotients (the default 20 would round them). */
const Decimal = D.clone({ precision: 60 });

describe('exchange rates', () => {
  const rates = new ExchangeRates([
    { from: 'EUR', to: 'USD', rate: '1.08', effective: '2026-10-01' },
    { from: 'EUR', to: 'USD', rate: '1.1', effective: '2026-12-01T00:00:00Z' },
    { from: 'USD', to: 'JPY', rate: '150.5', effective: '2026-01-01' },
  ]);

  it('takes the latest rate in effect, inverts a pair configured the other way, and has none before the first', () => {
    expect(rates.rateAt('EUR', 'USD', at('2026-11-30T23:59:59Z'))).toEqual({ from: 'EUR', to: 'USD', rate: '1.08', inverse: false, effective: '2026-10-01T00:00:00.000Z' });
    expect(rates.rateAt('EUR', 'USD', at('2026-12-01T00:00:00Z'))?.rate).toBe('1.1');
    expect(rates.rateAt('USD', 'EUR', at('2026-11-15T00:00:00Z'))).toMatchObject({ rate: '1.08', inverse: true });
    expect(rates.rateAt('EUR', 'USD', at('2026-09-30T00:00:00Z'))).toBeUndefined();
    // Never chained through a third currency.
    expect(rates.rateAt('EUR', 'JPY', at('2026-11-15T00:00:00Z'))).toBeUndefined();
    expect(rates.convert('10.00', 'EUR', 'JPY', at('2026-11-15T00:00:00Z'))).toBeUndefined();
  });

  it('rounds once, half-even, to the target minor unit (JPY has none)', () => {
    expect(rates.convert('0.25', 'EUR', 'USD', at('2026-11-01T00:00:00Z'))!.amount).toBe('0.27'); // 0.27
    expect(rates.convert('1.00', 'USD', 'JPY', at('2026-11-01T00:00:00Z'))!.amount).toBe('150'); // 150.5 → 150 (even)
    expect(rates.convert('3.00', 'USD', 'JPY', at('2026-11-01T00:00:00Z'))!.amount).toBe('452'); // 451.5 → 452 (even)
    expect(rates.convert('1.00', 'USD', 'EUR', at('2026-11-01T00:00:00Z'))!.amount).toBe('0.93'); // 1 / 1.08 = 0.9259…
  });

  it('equals the exact product (or quotient) rounded half-even, for random amounts and rates', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 1, max: 10 ** 9 }), fc.boolean(), (minor, rateMillionths, inverse) => {
        const rate = new Decimal(rateMillionths).div(1e6).toFixed();
        const r = new ExchangeRates([inverse ? { from: 'USD', to: 'EUR', rate, effective: '2026-01-01' } : { from: 'EUR', to: 'USD', rate, effective: '2026-01-01' }]);
        const amount = new Decimal(minor.toString()).div(100).toFixed(2);
        const got = r.convert(amount, 'EUR', 'USD', at('2026-06-01T00:00:00Z'))!;
        const exact = inverse ? new Decimal(amount).div(rate) : new Decimal(amount).times(rate);
        expect(got.amount).toBe(exact.toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toFixed(2));
        expect(got.rate).toMatchObject({ rate, inverse });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses bad rates by path', () => {
    const bad = (r: unknown) => [...new Set(exchangeRateSchema.safeParse(r).error?.issues.map((i) => i.path.join('.')))];
    expect(bad({ from: 'EUR', to: 'USD', rate: '0', effective: '2026-01-01' })).toEqual(['rate']);
    expect(bad({ from: 'EUR', to: 'USD', rate: '-1', effective: '2026-01-01' })).toEqual(['rate']);
    expect(bad({ from: 'EUR', to: 'EUR', rate: '1', effective: '2026-01-01' })).toEqual(['to']);
    expect(bad({ from: 'EURO', to: 'USD', rate: '1', effective: 'soon' })).toEqual(['from', 'effective']);
  });
});
