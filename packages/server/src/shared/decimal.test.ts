import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatScaled, parseQuantity } from './decimal.ts';

describe('exact quantities', () => {
  it('one million events of 0.1 sum to exactly 100000', () => {
    const q = parseQuantity(0.1) as bigint;
    let sum = 0n;
    for (let i = 0; i < 1_000_000; i++) sum += q;
    expect(formatScaled(sum)).toBe('100000');
    let float = 0;
    for (let i = 0; i < 1_000_000; i++) float += 0.1;
    expect(float).not.toBe(100000); // the reason quantities are never floats
  });

  it.each([
    [0.1, '0.1'],
    ['0.1', '0.1'],
    [' 42 ', '42'],
    ['-3.50', '-3.5'],
    [1e-7, '0.0000001'],
    ['1.5e3', '1500'],
    ['1E-12', '0.000000000001'],
    [123456789012345, '123456789012345'],
    ['99999999999999999999.5', '99999999999999999999.5'],
    ['-99999999999999999999.999999999999', '-99999999999999999999.999999999999'],
    ['100000000000000000000', null],
    ['-1e20', null],
    ['99999999999999999999999999.5', null],
    ['0.0000000000001', null],
    ['1.0000000000000', '1'],
  ])('parses %j as %s', (input, expected) => {
    const r = parseQuantity(input);
    if (expected === null) expect(r).toBe('out_of_range');
    else expect(formatScaled(r as bigint)).toBe(expected);
  });

  it.each([['abc'], [''], ['.'], ['1.2.3'], [null], [true], [{}], [Number.NaN], [Number.POSITIVE_INFINITY], ['0x10']])('refuses %j as not a number', (input) => {
    expect(parseQuantity(input)).toBe('not_a_number');
  });

  it('reads every JSON number exactly as its text reads (the fast paths for integers and short fractions agree with the text parser)', () => {
    const numbers = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: -1_000_000, max: 1_000_000 }).chain((n) => fc.integer({ min: 0, max: 14 }).map((f) => n / 10 ** f)),
      fc.integer({ min: 0, max: 70_000 }),
      fc.maxSafeInteger(),
    );
    fc.assert(
      fc.property(numbers, (n) => {
        expect(parseQuantity(n)).toEqual(parseQuantity(String(n)));
      }),
      { numRuns: 20_000 },
    );
  });
});
