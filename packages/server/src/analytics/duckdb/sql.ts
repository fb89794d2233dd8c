import type { SqlParams } from '../../store/duckdb/sql.ts';
import type { Period, PropertyFilter } from '../model.ts';
import { checkProperty } from '../property.ts';
import { periodNumber, periodStart } from '../period.ts';
import { int } from '../../store/sql-int.ts';

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

/**
 * The periods over [from, to) as a relation `periods(n, s)` (period number, start µs), for an
 * ASOF join: an event's period is the last start at or before it. Period starts come from the
 * zone rules once per period (period.ts) rather than a time-zone conversion per event, which
 * made DuckDB's retention about twice as slow as a plain join.
 */
export function periodsRelation(from: number, to: number, period: Period, zone: string): string {
  const first = periodNumber(from, period, zone);
  const last = periodNumber(to - 1, period, zone);
  const rows: string[] = [];
  for (let n = first; n <= last; n++) rows.push(`(${int(n)}, ${int(n === first ? Math.min(from, periodStart(n, period, zone)) : periodStart(n, period, zone))}::BIGINT)`);
  return `(VALUES ${rows.join(', ')}) periods(n, s)`;
}
