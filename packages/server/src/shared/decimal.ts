import { Decimal } from 'decimal.js';

/** Fractional digits every stored quantity keeps (SQL `DECIMAL(38, 12)`). */
export const QUANTITY_SCALE = 12;
const SCALE_FACTOR = 10n ** BigInt(QUANTITY_SCALE);
const MAX_ABS = new Decimal(10).pow(38 - QUANTITY_SCALE);

/** decimal.js configured for exact sums at our scale; results are never floats. */
export const Dec = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 60 });
export type Dec = Decimal;

/** Why a value is not a storable quantity, or `undefined` when it is. */
export type QuantityProblem = 'not_a_number' | 'out_of_range';

/**
 * Parses a JSON value (number or numeric string) as an exact quantity. JSON numbers are read
 * through their shortest decimal text, so `0.1` stays exactly 0.1.
 */
export function parseQuantity(value: unknown): Decimal | QuantityProblem {
  let d: Decimal;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'not_a_number';
    d = new Dec(String(value));
  } else if (typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) {
    d = new Dec(value.trim());
  } else {
    return 'not_a_number';
  }
  if (d.decimalPlaces() > QUANTITY_SCALE || d.abs().gte(MAX_ABS)) return 'out_of_range';
  return d;
}

/** The scaled integer SQL stores for a quantity (value × 10^12). */
export function toScaled(d: Decimal): bigint {
  return BigInt(d.times(SCALE_FACTOR.toString()).toFixed(0));
}

/** Reads a scaled integer back into an exact decimal. */
export function fromScaled(v: bigint): Decimal {
  return new Dec(v.toString()).div(SCALE_FACTOR.toString());
}

/** Canonical text of a decimal: no exponent, no trailing zeros (`"100000"`, `"0.1"`). */
export function formatDecimal(d: Decimal): string {
  return d.toFixed();
}
