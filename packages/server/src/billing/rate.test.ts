import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../shared/decimal.ts';
import { formatAmount, minorDigits } from './money.ts';
import { priceSchema, type PriceConfig } from './pricing/price-schema.ts';
import { rate } from './rate.ts';

// An independent oracle: decimal.js straight from the configured strings (no scaled integers).
const D = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });

function oracleAmount(p: PriceConfig, qty: string): InstanceType<typeof D> {
  const q = new D(qty);
  const tiers = 'tiers' in p ? p.tiers.map((t) => ({ upTo: t.upTo === undefined ? null : new D(t.upTo), unit: new D(t.unitPrice), flat: t.flatAmount === undefined ? null : new D(t.flatAmount) })) : [];
  switch (p.model) {
    case 'flat':
      return q.mul(p.amount);
    case 'unit':
      return q.mul(p.unitPrice);
    case 'package':
      return q.lte(0) ? new D(0) : q.div(p.packageSize).ceil().mul(p.packagePrice);
    case 'graduated': {
      let sum = new D(0);
      let from = new D(0);
      for (const t of tiers) {
        const cap = t.upTo === null ? q : D.min(t.upTo, q);
        const inTier = D.max(cap.sub(from), 0);
        sum = sum.add(inTier.mul(t.unit));
        if (inTier.gt(0) && t.flat) sum = sum.add(t.flat);
        if (t.upTo) from = t.upTo;
      }
      return sum;
    }
    case 'volume': {
      if (q.lte(0)) return new D(0);
      const t = tiers.find((x) => x.upTo === null || q.lte(x.upTo))!;
      return q.mul(t.unit).add(t.flat ?? 0);
    }
  }
}

const dec = (maxInt: number, maxFrac: number) => fc.tuple(fc.integer({ min: 0, max: maxInt }), fc.integer({ min: 0, max: 10 ** maxFrac - 1 }), fc.integer({ min: 0, max: maxFrac })).map(([i, f, d]) => (d === 0 ? String(i) : `${i}.${String(f % 10 ** d).padStart(d, '0')}`));
const tiers = fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), dec(2, 8), fc.option(dec(50, 2), { nil: undefined })), { minLength: 1, maxLength: 4 }).map((ts) => {
  let up = 0;
  return ts.map(([step, unitPrice, flatAmount], i) => {
    up += step;
    return { ...(i < ts.length - 1 ? { upTo: String(up) } : {}), unitPrice, ...(flatAmount === undefined ? {} : { flatAmount }) };
  });
});
const price: fc.Arbitrary<PriceConfig> = fc.oneof(
  dec(500, 2).map((amount) => ({ model: 'flat' as const, name: 'Base', amount })),
  dec(3, 10).map((unitPrice) => ({ model: 'unit' as const, meter: 'm', unitPrice })),
  tiers.map((t) => ({ model: 'graduated' as const, meter: 'm', tiers: t })),
  tiers.map((t) => ({ model: 'volume' as const, meter: 'm', tiers: t })),
  fc.tuple(dec(2000, 3), dec(5, 6)).filter(([s]) => new D(s).gt(0)).map(([packageSize, packagePrice]) => ({ model: 'package' as const, meter: 'm', packageSize, packagePrice })),
);

describe('billing: rating', () => {
  it('every line equals an independent decimal.js computation, rounded once half-even; the total is the sum of rounded lines', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(price, dec(20_000, 6)), { minLength: 1, maxLength: 6 }), fc.constantFrom('USD', 'JPY', 'BHD', 'EUR'), fc.option(dec(300, 2), { nil: undefined }), (items, currency, minimumSpend) => {
        const prices = items.map(([p]) => priceSchema.parse(p));
        const qtys = items.map(([p, q]) => (p.model === 'flat' ? String(new D(q).mod(1)) : q));
        const r = rate({ currency, prices, quantities: qtys.map((q) => parseQuantity(q) as bigint), minimumSpend });
        const minor = minorDigits(currency);
        let total = new D(0);
        prices.forEach((p, i) => {
          const exact = oracleAmount(p, qtys[i]!);
          const line = r.lines[i]!;
          expect(formatAmount(line.amountExact)).toBe(exact.toFixed());
          const rounded = exact.toDecimalPlaces(minor, Decimal.ROUND_HALF_EVEN);
          expect(formatAmount(line.amount, minor)).toBe(rounded.toFixed(minor));
          total = total.add(rounded);
        });
        if (minimumSpend !== undefined && total.lt(new D(minimumSpend).toDecimalPlaces(minor, Decimal.ROUND_HALF_EVEN))) {
          const top = r.lines[r.lines.length - 1]!;
          expect(top.kind).toBe('minimum');
          total = new D(minimumSpend).toDecimalPlaces(minor, Decimal.ROUND_HALF_EVEN);
        } else expect(r.lines).toHaveLength(prices.length);
        expect(formatAmount(r.subtotal, minor)).toBe(total.toFixed(minor));
      }),
      { numRuns: 400 },
    );
  });

  it('rounds half-even once per line: 0.125 USD → 0.12, 0.135 → 0.14, 2.5 JPY → 2, 0.0005 BHD → 0.000', () => {
    const one = (currency: string, unitPrice: string) => formatAmount(rate({ currency, prices: [priceSchema.parse({ model: 'unit', meter: 'm', unitPrice })], quantities: [10n ** 12n] }).subtotal, minorDigits(currency));
    expect(one('USD', '0.125')).toBe('0.12');
    expect(one('USD', '0.135')).toBe('0.14');
    expect(one('JPY', '2.5')).toBe('2');
    expect(one('JPY', '3.5')).toBe('4');
    expect(one('BHD', '0.0005')).toBe('0.000');
    expect(one('BHD', '0.0015')).toBe('0.002');
  });

  it('the issue example: graduated api_requests, package tokens, volume bytes', () => {
    const prices = [
      { name: 'Pro subscription', model: 'flat', amount: '49.00' },
      { meter: 'api_requests', model: 'graduated', tiers: [{ upTo: 10000, unitPrice: '0' }, { upTo: 1000000, unitPrice: '0.0001' }, { unitPrice: '0.00005' }] },
      { meter: 'llm_tokens', model: 'package', packageSize: 1000, packagePrice: '0.002' },
      { meter: 'response_bytes', model: 'volume', tiers: [{ upTo: 1000000000, unitPrice: '0.0000001' }, { unitPrice: '0.00000005' }] },
    ].map((p) => priceSchema.parse(p));
    const q = (s: string) => parseQuantity(s) as bigint;
    const r = rate({ currency: 'USD', prices, quantities: [q('1'), q('1200000'), q('1000001'), q('2000000000')], minimumSpend: '20' });
    // 49 + (990,000 × 0.0001 + 200,000 × 0.00005 = 109) + 1,001 packages × 0.002 = 2.002 → 2.00 + 2e9 × 0.00000005 = 100
    expect(r.lines.map((l) => formatAmount(l.amount, 2))).toEqual(['49.00', '109.00', '2.00', '100.00']);
    expect(formatAmount(r.lines[2]!.amountExact)).toBe('2.002');
    expect(formatAmount(r.subtotal, 2)).toBe('260.00');
    expect(r.lines[1]!.tiers.map((t) => formatAmount(t.amountExact))).toEqual(['0', '99', '10']);
  });

  it('refuses tiers out of order, a missing open-ended last tier and unknown currencies', () => {
    expect(priceSchema.safeParse({ meter: 'm', model: 'graduated', tiers: [{ upTo: 10, unitPrice: '1' }, { upTo: 5, unitPrice: '1' }, { unitPrice: '1' }] }).success).toBe(false);
    expect(priceSchema.safeParse({ meter: 'm', model: 'volume', tiers: [{ upTo: 10, unitPrice: '1' }] }).success).toBe(false);
    expect(priceSchema.safeParse({ meter: 'm', model: 'package', packageSize: 0, packagePrice: '1' }).success).toBe(false);
    expect(priceSchema.safeParse({ meter: 'm', model: 'unit', unitPrice: '0.0000000000001' }).success).toBe(false);
  });
});
