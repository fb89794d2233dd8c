/** A SQL string literal (DuckDB: standard quoting, no backslash escapes). */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `col IN ('a','b')` for a list of strings. */
export function inList(col: string, values: readonly string[]): string {
  return `${col} IN (${values.map(lit).join(', ')})`;
}

/** Reads a stored quantity cell (HUGEINT scaled ×10^12, or null) as a scaled integer. */
export function readScaled(v: unknown): bigint | null {
  return v === null || v === undefined ? null : readBig(v);
}

/** Reads an integer cell (BIGINT/HUGEINT/INTEGER) as bigint. */
export function readBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  throw new Error(`expected an integer, got ${typeof v}`);
}
