import type { UsageResult } from '../usage/query-service.ts';

function cell(v: string | null): string {
  if (v === null) return '';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV of a usage answer: windowStart, windowEnd, tenant, one column per groupBy dimension, value. */
export function toCsv(r: UsageResult): string {
  const dims = [...new Set(r.data.flatMap((row) => Object.keys(row.groupBy)))];
  const lines = [['windowStart', 'windowEnd', 'tenant', ...dims, 'value'].join(',')];
  for (const row of r.data) lines.push([row.windowStart, row.windowEnd, row.tenant, ...dims.map((d) => row.groupBy[d] ?? null), row.value].map(cell).join(','));
  return lines.join('\n') + '\n';
}
