/**
 * Splits an amount of minor units (cents) in proportion to weights, exactly: each part is the
 * floor of its exact share, and the units left over go one each to the largest fractional
 * remainders (ties: the smaller tenant id first), so the parts always sum to the whole and the
 * same input always gives the same split. Weights ≤ 0 take no share; when no weight is
 * positive nothing is allocated (the caller reports the amount as unallocated).
 */
export function allocateLargestRemainder(total: bigint, weights: readonly (readonly [string, bigint])[]): Map<string, bigint> {
  if (total < 0n) throw new RangeError('cannot allocate a negative amount');
  const positive = weights.filter(([, w]) => w > 0n);
  const sum = positive.reduce((s, [, w]) => s + w, 0n);
  const parts = new Map<string, bigint>();
  if (sum === 0n) return parts;
  const rems: { tenant: string; rem: bigint }[] = [];
  let given = 0n;
  for (const [tenant, w] of positive) {
    const exact = total * w;
    const floor = exact / sum;
    parts.set(tenant, (parts.get(tenant) ?? 0n) + floor);
    given += floor;
    rems.push({ tenant, rem: exact % sum });
  }
  rems.sort((a, b) => (a.rem !== b.rem ? (a.rem > b.rem ? -1 : 1) : a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
  // Fewer units are left than tenants (each floor loses less than one).
  for (let i = 0; given < total; i++, given++) parts.set(rems[i]!.tenant, parts.get(rems[i]!.tenant)! + 1n);
  return parts;
}

/** A decimal amount ("1200.5") in minor units of `digits` decimals (the schema checked the digits). */
export function toMinor(amount: string, digits: number): bigint {
  const [int, frac = ''] = amount.split('.');
  if (frac.length > digits) throw new RangeError(`"${amount}" has more than ${digits} decimals`);
  const neg = int!.startsWith('-');
  const v = BigInt(int!.replace('-', '') + frac.padEnd(digits, '0'));
  return neg ? -v : v;
}

/** Minor units as a decimal string with exactly `digits` decimals. */
export function fromMinor(v: bigint, digits: number): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(digits + 1, '0');
  const out = digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  return neg ? `-${out}` : out;
}
