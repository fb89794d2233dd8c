import { isWellFormed } from '../../events/identifiers.ts';
import { formatScaled, parseQuantity } from '../../shared/decimal.ts';

/** Characters written as escapes in a literal: backslash, quote, and every control character. */
// eslint-disable-next-line no-control-regex -- escaping control characters is the point
const ESCAPED = /[\\'\u0000-\u001f\u007f]/g;

/**
 * A ClickHouse string literal (backslash escapes, unlike standard SQL). ClickHouse 18.16 has
 * no bound query parameters (`{name:String}` came in 19.x), so strings are spliced as
 * literals with every byte that could end or bend one escaped: `\\`, `\'`, control characters
 * (NUL included) as `\xHH`. A string with a lone surrogate is refused: UTF-8 would turn it
 * into U+FFFD and compare it with another value (the HTTP edges refuse such strings first).
 */
export function lit(s: string): string {
  if (!isWellFormed(s)) throw new TypeError('a string holding a lone UTF-16 surrogate cannot be compared exactly');
  return `'${s.replace(ESCAPED, (c) => (c === '\\' ? '\\\\' : c === "'" ? "\\'" : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))}'`;
}

/** `col IN ('a','b')` for a list of strings. */
export function inList(col: string, values: readonly string[]): string {
  return `${col} IN (${values.map(lit).join(', ')})`;
}

const UNESCAPE: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', '\\': '\\', "'": "'" };

/**
 * Parses TabSeparated output into rows of cells (`\N` is null). TSV is used for reads because
 * ClickHouse's JSON formats print decimals as bare numbers, which JSON.parse would round.
 */
export function parseTsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    rows.push(line.split('\t').map((cell) => (cell === '\\N' ? null : cell.includes('\\') ? cell.replace(/\\(.)/g, (_, c: string) => UNESCAPE[c] ?? c) : cell)));
  }
  return rows;
}

/** A Decimal(38, 12) cell (or null) as a scaled integer (value × 10^12). */
export function readScaled(cell: string | null): bigint | null {
  if (cell === null) return null;
  const v = parseQuantity(cell);
  if (typeof v !== 'bigint') throw new Error(`not a decimal: ${cell}`);
  return v;
}

/** An integer cell as bigint. */
export function readBig(cell: string | null): bigint {
  if (cell === null) throw new Error('expected an integer, got NULL');
  return BigInt(cell);
}

/** A scaled quantity as a bare JSON number (ClickHouse 18.16 does not read quoted decimals). */
export function jsonDecimal(v: bigint | null): string {
  return v === null ? 'null' : formatScaled(v);
}
