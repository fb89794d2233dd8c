import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateLargestRemainder, fromMinor, toMinor } from './allocate.ts';

const tenants = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 12 });

describe('largest-remainder allocation', () => {
  it('splits 100 cents over three equal users as 34/33/33, the extra cent to the smallest id', () => {
    const parts = allocateLargestRemainder(100n, [['c', 1n], ['a', 1n], ['b', 1n]]);
    expect(Object.fromEntries(parts)).toEqual({ a: 34n, b: 33n, c: 33n });
  });

  it('gives nothing to zero or negative usage and nothing at all when nobody used the meter', () => {
    expect(Object.fromEntries(allocateLargestRemainder(1000n, [['a', 3n], ['b', 0n], ['c', -5n]]))).toEqual({ a: 1000n });
    expect(allocateLargestRemainder(1000n, [['a', 0n]]).size).toBe(0);
  });

  it('property: the parts sum exactly to the whole, each is within one unit of its exact share, and the order of the input does not matter', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        tenants.chain((ts) => fc.tuple(fc.constant(ts), fc.array(fc.bigInt({ min: 0n, max: 10n ** 24n }), { minLength: ts.length, maxLength: ts.length }))),
        fc.integer(),
        (total, [ts, ws], seed) => {
          const weights = ts.map((t, i) => [t, ws[i]!] as const);
          const parts = allocateLargestRemainder(total, weights);
          const sumW = ws.reduce((s, w) => s + w, 0n);
          const sum = [...parts.values()].reduce((s, v) => s + v, 0n);
          expect(sum).toBe(sumW === 0n ? 0n : total);
          for (const [t, w] of weights) {
            const got = parts.get(t) ?? 0n;
            if (sumW === 0n) continue;
            // floor(exact) ≤ part ≤ floor(exact) + 1
            const floor = (total * w) / sumW;
            expect(got >= floor && got <= floor + 1n).toBe(true);
          }
          const shuffled = [...weights].sort(() => ((seed = (seed * 1103515245 + 12345) | 0) & 1 ? 1 : -1));
          expect(Object.fromEntries(allocateLargestRemainder(total, shuffled))).toEqual(Object.fromEntries(parts));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('converts between decimal amounts and minor units exactly', () => {
    expect(toMinor('1200', 2)).toBe(120000n);
    expect(toMinor('0.05', 2)).toBe(5n);
    expect(toMinor('7', 0)).toBe(7n);
    expect(fromMinor(5n, 2)).toBe('0.05');
    expect(fromMinor(-120000n, 2)).toBe('-1200.00');
    expect(fromMinor(7n, 0)).toBe('7');
    expect(() => toMinor('1.005', 2)).toThrow();
  });
});
