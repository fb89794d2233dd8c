import { Decimal } from 'decimal.js';

/** Fractional digits every stored quantity keeps (SQL `DECIMAL(38, 12)`). */
export const QUANTITY_SCALE = 12;
/** 10^12: a quantity q is carried as the exact integer q × SCALE ("scaled"). */
export const SCALE = 10n ** BigInt(QUANTITY_SCALE);
/**
 * Quantities are below 10^20 in magnitude (scaled: 10^32). Rollup sums are 128-bit integers
 * (about 1.7 × 10^26 units): a bucket overflows only past 1.7 million maximal values, and then a
 * store refuses the write instead of wrapping (rows.ts, ClickHouse's decimal overflow check).
 */
const MAX_DIGITS = 32;
const MAX_SCALED = 10n ** BigInt(MAX_DIGITS);

/** decimal.js for the few operations integers cannot do exactly (AVG's division). */
export const Dec = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 60 });

/** Why a value is not a storable quantity. */
export type QuantityProblem = 'not_a_number' | 'out_of_range';

/** Scaled values of the small non-negative integers most quantities are (bytes, tokens, milliseconds), made once: no BigInt allocation per event. */
const SMALL_LIMIT = 1 << 16;
const SMALL_SCALED = new Array<bigint | undefined>(SMALL_LIMIT);

/** 10^i as a double (exact for i ≤ 22) and 10^(12 − i) as a bigint, for `scaledFraction`. */
const POW10 = Array.from({ length: QUANTITY_SCALE + 1 }, (_, i) => 10 ** i);
const SCALE_DOWN = Array.from({ length: QUANTITY_SCALE + 1 }, (_, i) => 10n ** BigInt(QUANTITY_SCALE - i));

/**
 * The scaled value of a JSON number with a fraction (e.g. 58.3), whose shortest text `text`
 * has no exponent, at most 12 fractional digits and fewer than 16 significant digits:
 * value × 10^f rounds to exactly the integer of its digits (the double's error, under
 * 2^-52 relative, stays below 0.25 there). Undefined otherwise (the text path decides).
 */
function scaledFraction(value: number, text: string): bigint | undefined {
  const dot = text.indexOf('.');
  if (dot < 0 || text.includes('e')) return undefined;
  const f = text.length - dot - 1;
  if (f > QUANTITY_SCALE) return undefined;
  const n = Math.round(value * POW10[f]!);
  if (!(Math.abs(n) < 1e15)) return undefined;
  return BigInt(n) * SCALE_DOWN[f]!;
}

const NUMBER_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a JSON value (number or numeric string) into an exact scaled integer (value × 10^12).
 * JSON numbers are read through their shortest decimal text, so `0.1` is exactly 0.1. Values
 * needing more than 12 fractional digits, or of 10^20 or more, are refused, never rounded.
 */
export function parseQuantity(value: unknown): bigint | QuantityProblem {
  let text: string;
  if (typeof value === 'number') {
    // Integers (most counters: bytes, tokens, milliseconds) skip the text round trip.
    if (Number.isSafeInteger(value)) {
      if (value >= 0 && value < SMALL_LIMIT) return (SMALL_SCALED[value] ??= BigInt(value) * SCALE);
      return BigInt(value) * SCALE;
    }
    if (!Number.isFinite(value)) return 'not_a_number';
    text = String(value);
    const fast = scaledFraction(value, text);
    if (fast !== undefined) return fast;
  } else if (typeof value === 'string') text = value.trim();
  else return 'not_a_number';
  const m = NUMBER_TEXT.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return 'not_a_number';
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = (int + frac).replace(/^0+/, '') || '0';
  let shift = Number(exp) - frac.length + QUANTITY_SCALE;
  if (shift < 0) {
    const drop = Math.min(-shift, digits.length);
    if (!/^0*$/.test(digits.slice(digits.length - drop))) return 'out_of_range';
    digits = digits.slice(0, digits.length - drop) || '0';
    shift = 0;
  }
  if (digits !== '0' && digits.length + shift > MAX_DIGITS) return 'out_of_range';
  const scaled = BigInt(digits) * 10n ** BigInt(shift);
  if (scaled >= MAX_SCALED) return 'out_of_range';
  return sign === '-' ? -scaled : scaled;
}

/** Canonical decimal text of a scaled integer: no exponent, no trailing zeros ("100000", "0.1"). */
export function formatScaled(v: bigint): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const int = abs / SCALE;
  const frac = (abs % SCALE).toString().padStart(QUANTITY_SCALE, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** An exact decimal from a scaled integer (for division). */
export function scaledToDecimal(v: bigint): Decimal {
  return new Dec(v.toString()).div(SCALE.toString());
}
