import { formatScaled, parseQuantity } from '../../shared/decimal.ts';

/** A ClickHouse string literal (backslash escapes, unlike standard SQL). */
export function lit(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
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
