import { DuckDBDecimalValue } from '@duckdb/node-api';
import { QUANTITY_SCALE } from '../../shared/decimal.ts';

/** A SQL string literal (DuckDB: standard quoting, no backslash escapes). */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `col IN ('a','b')` for a list of strings. */
export function inList(col: string, values: readonly string[]): string {
  return `${col} IN (${values.map(lit).join(', ')})`;
}

/** An appender value for a stored quantity. */
export function decimalValue(scaled: bigint): DuckDBDecimalValue {
  return new DuckDBDecimalValue(scaled, 38, QUANTITY_SCALE);
}

/** Reads a DECIMAL cell (or null) as a scaled integer (value × 10^12). */
export function readScaled(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  if (v instanceof DuckDBDecimalValue) {
    if (v.scale === QUANTITY_SCALE) return v.value;
    return v.value * 10n ** BigInt(QUANTITY_SCALE - v.scale);
  }
  throw new Error(`expected a DECIMAL, got ${typeof v}`);
}

/** Reads an integer cell (BIGINT/HUGEINT/INTEGER) as bigint. */
export function readBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  throw new Error(`expected an integer, got ${typeof v}`);
}
