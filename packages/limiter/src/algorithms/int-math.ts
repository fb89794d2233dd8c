/**
 * floor(a / b) for integers below 2^53, corrected after the float division: a double quotient
 * can round up across an integer boundary when a and b are large, which would miscount by one.
 */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

/** ceil(a / b) for integers below 2^53. */
export function ceilDiv(a: number, b: number): number {
  return -floorDiv(-a, b);
}
