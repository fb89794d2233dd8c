import type { SqlParams } from '../../store/duckdb/sql.ts';
import type { Period, PropertyFilter } from '../model.ts';
import { checkProperty } from '../property.ts';

/** A top-level string property of `data` (NULL when missing, not a string, or empty). */
export function propertyExpr(key: string): string {
  checkProperty(key);
  return `NULLIF(CASE WHEN json_type(data, '$.${key}') = 'VARCHAR' THEN json_extract_string(data, '$.${key}') END, '')`;
}

/** Whether an event is of `type` and matches `filter`. */
export function stepExpr(p: SqlParams, type: string, filter: PropertyFilter | undefined): string {
  const parts = [`type = ${p.add(type)}`];
  for (const [key, values] of Object.entries(filter ?? {})) parts.push(values.length === 0 ? 'false' : p.in(propertyExpr(key), values));
  return `(${parts.join(' AND ')})`;
}

/** The period number (see period.ts) of `time_us` in zone. */
export function periodExpr(p: SqlParams, period: Period, zone: string): string {
  const local = `timezone(${p.add(zone)}, make_timestamptz(time_us))`;
  if (period === 'MONTH') return `(year(${local}) * 12 + month(${local}) - 1)`;
  const day = `(${local}::DATE - DATE '1970-01-01')`;
  return period === 'DAY' ? day : `((${day} + 3) // 7)`;
}
