import type { EventListQuery, StoredEvent } from '../port.ts';
import { int } from '../sql-int.ts';
import { lit } from './sql.ts';

/** The SQL of the raw event API's listing on ClickHouse (escaped literals; 18.16 has no parameters). */
export function listEventsSql(q: EventListQuery): string {
  const where = ['1'];
  if (q.tenant !== undefined) where.push(`tenant = ${lit(q.tenant)}`);
  if (q.type !== undefined) where.push(`type = ${lit(q.type)}`);
  if (q.id !== undefined) where.push(`id = ${lit(q.id)}`);
  if (q.from !== undefined) where.push(`time_us >= ${int(q.from)}`);
  if (q.to !== undefined) where.push(`time_us < ${int(q.to)}`);
  if (q.ingestedFrom !== undefined) where.push(`ingested_us >= ${int(q.ingestedFrom)}`);
  if (q.ingestedTo !== undefined) where.push(`ingested_us < ${int(q.ingestedTo)}`);
  if (q.after) {
    const [t, tn, id] = q.after;
    where.push(`(time_us > ${int(t)} OR (time_us = ${int(t)} AND (tenant > ${lit(tn)} OR (tenant = ${lit(tn)} AND id > ${lit(id)}))))`);
  }
  return `SELECT tenant, id, type, source, time_us, actor, data, content_hash, ingested_us FROM events WHERE ${where.join(' AND ')} ORDER BY time_us, tenant, id LIMIT ${int(q.limit)}`;
}

/** A TSV row of {@link listEventsSql} as an event. */
export function toStoredEvent(r: (string | null)[]): StoredEvent {
  const dataJson = r[6]!;
  return { tenant: r[0]!, id: r[1]!, type: r[2]!, source: r[3]!, time: Number(r[4]), actor: r[5] ?? null, data: JSON.parse(dataJson) as Record<string, unknown>, dataJson, contentHash: r[7]!, ingestedAt: Number(r[8]) };
}
