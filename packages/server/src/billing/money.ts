import { SCALE } from '../shared/decimal.ts';

/**
 * Money in the batch layer: an amount is an exact integer scaled by 10^24. A quantity and a
 * unit price are each exact to 12 decimals (×10^12, like every stored quantity), so their
 * product is exact at 24 decimals and no line is ever rounded before its one rounding to the
 * currency's minor unit.
 */
export const AMOUNT_DIGITS = 24;
/** 10^24. */
export const AMOUNT_SCALE = 10n ** BigInt(AMOUNT_DIGITS);

/** A price (×10^12) at the amount scale. */
export function priceToAmount(price: bigint): bigint {
  return price * SCALE;
}

/** quantity (×10^12) × unit price (×10^12): exact, at the amount scale. */
export function times(quantity: bigint, unitPrice: bigint): bigint {
  return quantity * unitPrice;
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** True for an ISO 4217 code this runtime knows (its ICU data). */
export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

/** The currency's minor unit in decimals (JPY 0, USD 2, BHD 3), from ICU's ISO 4217 data. */
export function minorDigits(currency: string): number {
  // Cached: building an Intl.NumberFormat costs ~0.1 ms, and a run asks once per line.
  let d = MINOR.get(currency);
  if (d === undefined) MINOR.set(currency, (d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2));
  return d;
}
const MINOR = new Map<string, number>();

/** `v` (any scale) divided by `unit`, rounded half-even (ties to the even quotient). */
export function divHalfEven(v: bigint, unit: bigint): bigint {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  let q = abs / unit;
  const twice = 2n * (abs % unit);
  if (twice > unit || (twice === unit && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}

/** An exact amount rounded once, half-even, to `minor` decimals (still at the amount scale). */
export function roundAmount(exact: bigint, minor: number): bigint {
  const unit = 10n ** BigInt(AMOUNT_DIGITS - minor);
  return divHalfEven(exact, unit) * unit;
}

/**
 * Decimal text of an amount: with exactly `digits` decimals (a rounded amount, "49.00"), or
 * without trailing zeros when `digits` is undefined (an exact amount, "0.00012345").
 */
export function formatAmount(v: bigint, digits?: number): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const int = abs / AMOUNT_SCALE;
  let frac = (abs % AMOUNT_SCALE).toString().padStart(AMOUNT_DIGITS, '0');
  frac = digits === undefined ? frac.replace(/0+$/, '') : frac.slice(0, digits);
  return `${neg && abs !== 0n ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}
