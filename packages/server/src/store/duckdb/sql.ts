import { isWellFormed } from '../../events/identifiers.ts';

/**
 * Bound parameters of one statement: `add` returns the placeholder (`$1`, `$2`…) of a value.
 * Every client-supplied string reaches DuckDB this way, never spliced into SQL text (a NUL
 * byte, a quote or a backslash is just data to a bound parameter).
 */
export class SqlParams {
  readonly values: string[] = [];

  /** The placeholder of `value`. */
  add(value: string): string {
    // The driver sends UTF-8: a lone surrogate would become U+FFFD and match another value.
    if (!isWellFormed(value)) throw new TypeError('a string holding a lone UTF-16 surrogate cannot be compared exactly');
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** `col IN ($n, …)` for a list of strings. */
  in(col: string, values: readonly string[]): string {
    return `${col} IN (${values.map((v) => this.add(v)).join(', ')})`;
  }
}

export { int } from '../sql-int.ts';

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
