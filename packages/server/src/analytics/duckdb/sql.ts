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

/**
 * When every period over [from, to) has the same length (days and weeks in UTC or in a zone
 * without a clock change in the range), an event's period number is arithmetic on its time:
 * returns `t => SQL` for it, else undefined (months, or a DST change inside the range: the ASOF
 * join of `periodsRelation` is then needed).
 */
export function uniformPeriodExpr(from: number, to: number, period: Period, zone: string): ((t: string) => string) | undefined {
  if (period === 'MONTH') return undefined;
  const first = periodNumber(from, period, zone);
  const last = periodNumber(to - 1, period, zone);
  const s0 = periodStart(first, period, zone);
  const width = periodStart(first + 1, period, zone) - s0;
  for (let n = first + 1; n <= last + 1; n++) if (periodStart(n, period, zone) - periodStart(n - 1, period, zone) !== width) return undefined;
  return (t) => `(${int(first)} + (${t} - ${int(s0)}) // ${int(width)})`;
}
