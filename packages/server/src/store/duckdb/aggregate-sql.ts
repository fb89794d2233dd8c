import type { AggregateQuery } from '../port.ts';
import { DIM_COLUMNS } from './schema.ts';
import { int, type SqlParams } from './sql.ts';

/**
 * Builds the FROM/WHERE/GROUP BY shared by rollup and unique-fact queries. `timeCol` is the
 * table's time column; windows become an integer `w` (arithmetic for uniform windows, a range
 * join against a VALUES list for time-zone days and months). `grouped: false` selects rows as
 * they are (the caller knows each row already is one group). Strings go to `params`; numbers
 * (times, window widths) are the query service's own and written as integers.
 */
export function aggregateSql(q: AggregateQuery, params: SqlParams, table: string, timeCol: string, extraWhere: string[], measures: string[], grouped = true): string {
  const where = [`t.meter = ${params.add(q.meter)}`, `t.${timeCol} >= ${int(q.from)}`, `t.${timeCol} < ${int(q.to)}`, ...extraWhere];
  if (q.tenants) where.push(params.in('t.tenant', q.tenants));
  if (q.excludeTenants?.length) where.push(`NOT ${params.in('t.tenant', q.excludeTenants)}`);
  for (const f of q.filters) where.push(params.in(`t.${DIM_COLUMNS[f.dim]!}`, f.values));

  let from = `${table} t`;
  let windowExpr: string;
  if (q.windows.kind === 'uniform') {
    windowExpr = `((t.${timeCol} - ${int(q.windows.origin)}) // ${int(q.windows.width)})`;
  } else {
    const b = q.windows.boundaries;
    const rows = b.slice(0, -1).map((s, i) => `(${i}, ${int(s)}::BIGINT, ${int(b[i + 1]!)}::BIGINT)`);
    from += ` JOIN (VALUES ${rows.join(', ')}) w(i, s, e) ON t.${timeCol} >= w.s AND t.${timeCol} < w.e`;
    windowExpr = 'w.i';
  }
  const keys = [`(${windowExpr})::INTEGER AS w`, q.groupByTenant ? 't.tenant AS tenant' : 'NULL::VARCHAR AS tenant', ...q.groupDims.map((d, i) => `t.${DIM_COLUMNS[d]!} AS g${i}`)];
  const groupBy = keys.map((_, i) => String(i + 1)).join(', ');
  const select = `SELECT ${[...keys, ...measures].join(', ')} FROM ${from} WHERE ${where.join(' AND ')}`;
  return grouped ? `${select} GROUP BY ${groupBy}` : select;
}
