import type { UsageResult } from '../usage/query-service.ts';

/** Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"). */
const FORMULA_LEAD = /^[=+\-@\t\r]/;

/**
 * One CSV cell: quoted when it holds a comma, quote or line break. A text cell that a
 * spreadsheet would run as a formula (`=HYPERLINK(…)`, `+`, `-`, `@`, tab, CR first) is
 * prefixed with `'`, the OWASP rule: tenants and dimension values come from clients.
 * Numbers and times are Tally's own (a negative value stays a number).
 */
export function csvCell(v: string | null, text: boolean): string {
  if (v === null) return '';
  const safe = text && FORMULA_LEAD.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** CSV of a usage answer: windowStart, windowEnd, tenant, one column per groupBy dimension, value. */
export function toCsv(r: UsageResult): string {
  const dims = [...new Set(r.data.flatMap((row) => Object.keys(row.groupBy)))];
  const lines = [['windowStart', 'windowEnd', 'tenant', ...dims, 'value'].map((h) => csvCell(h, true)).join(',')];
  for (const row of r.data) {
    const texts = [row.tenant, ...dims.map((d) => row.groupBy[d] ?? null)].map((v) => csvCell(v, true));
    lines.push([csvCell(row.windowStart, false), csvCell(row.windowEnd, false), ...texts, csvCell(row.value, false)].join(','));
  }
  return lines.join('\n') + '\n';
}
