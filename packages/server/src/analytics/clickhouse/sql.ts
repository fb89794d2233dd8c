import { int } from '../../store/sql-int.ts';
import { inList, lit } from '../../store/clickhouse/sql.ts';
import type { Period, PropertyFilter } from '../model.ts';
import { checkProperty } from '../property.ts';

/**
 * How a server reads a top-level string property: `JSONExtractString` where it exists (19.x
 * on, a real parser); on 18.16 `visitParamExtractString`, which finds the first `"key":` at
 * any depth, so a nested object that repeats a top-level key name can shadow it there
 * (docs/analytics.md). Both answer '' for a missing or non-string value, hence the rule that
 * an empty string counts as missing everywhere.
 */
export type JsonReader = 'JSONExtractString' | 'visitParamExtractString';

/** A top-level string property of `data` (NULL when missing, not a string, or empty). */
export function propertyExpr(reader: JsonReader, key: string): string {
  checkProperty(key);
  return `nullIf(${reader}(data, ${lit(key)}), '')`;
}

/** Whether an event is of `type` and matches `filter`. */
export function stepExpr(reader: JsonReader, type: string, filter: PropertyFilter | undefined): string {
  const parts = [`type = ${lit(type)}`];
  for (const [key, values] of Object.entries(filter ?? {})) parts.push(values.length === 0 ? '0' : `${reader}(data, ${lit(key)}) != '' AND ${inList(`${reader}(data, ${lit(key)})`, values)}`);
  return `(${parts.join(' AND ')})`;
}

/** The period number (see period.ts) of `time_us` in the zone; functions that exist on 18.16 and now. */
export function periodExpr(period: Period, zone: string, time = 'time_us'): string {
  const dt = `toDateTime(intDiv(${time}, 1000000))`;
  if (period === 'MONTH') return `(toInt32(toYear(${dt}, ${lit(zone)})) * 12 + toInt32(toMonth(${dt}, ${lit(zone)})) - 1)`;
  const day = `toInt32(toRelativeDayNum(${dt}, ${lit(zone)}))`;
  return period === 'DAY' ? day : `intDiv(${day} + 3, 7)`;
}

/** Range, tenant and type conditions of a raw read. */
export function rangeWhere(from: number, to: number, tenants: string[] | undefined, types?: string[], exclude?: string[]): string[] {
  const where = [`time_us >= ${int(from)}`, `time_us < ${int(to)}`];
  if (tenants) where.push(tenants.length === 0 ? '0' : inList('tenant', tenants));
  if (exclude?.length) where.push(`NOT ${inList('tenant', exclude)}`);
  if (types) where.push(inList('type', [...new Set(types)]));
  return where;
}
