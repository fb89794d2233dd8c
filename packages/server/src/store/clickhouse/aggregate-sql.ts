import type { AggregateQuery } from '../port.ts';
import { dimColumn } from './schema.ts';
import { inList, lit } from './sql.ts';

/**
 * Builds the query shared by rollup and unique-fact reads: windows become an integer `w`
 * (integer division for uniform windows, a search in the boundary array otherwise).
 */
export function aggregateSql(q: AggregateQuery, table: string, timeCol: string, extraWhere: string[], measures: string[]): string {
  const where = [`meter = ${lit(q.meter)}`, `${timeCol} >= ${q.from}`, `${timeCol} < ${q.to}`, ...extraWhere];
  if (q.tenants) where.push(inList('tenant', q.tenants));
  if (q.excludeTenants?.length) where.push(`NOT ${inList('tenant', q.excludeTenants)}`);
  for (const f of q.filters) where.push(inList(dimColumn(f.dim), f.values));
  let windowExpr: string;
  if (q.windows.kind === 'uniform') {
    windowExpr = `intDiv(${timeCol} - ${q.windows.origin}, ${q.windows.width})`;
  } else {
    const b = q.windows.boundaries;
    where.push(`${timeCol} >= ${b[0]!}`, `${timeCol} < ${b[b.length - 1]!}`);
    windowExpr = `arrayFirstIndex(x -> x > ${timeCol}, [${b.map((v) => `toInt64(${v})`).join(', ')}]) - 2`;
  }
  const keys = [`${windowExpr} AS w`, q.groupByTenant ? 'tenant AS g_tenant' : 'CAST(NULL AS Nullable(String)) AS g_tenant', ...q.groupDims.map((d, i) => `${dimColumn(d)} AS g${i}`)];
  const groupBy = ['w', 'g_tenant', ...q.groupDims.map((_, i) => `g${i}`)].join(', ');
  return `SELECT ${[...keys, ...measures].join(', ')} FROM ${table} WHERE ${where.join(' AND ')} GROUP BY ${groupBy} ORDER BY ${groupBy}`;
}
