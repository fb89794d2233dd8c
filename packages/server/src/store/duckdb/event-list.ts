import type { DuckDBConnection } from '@duckdb/node-api';
import type { EventListQuery, StoredEvent } from '../port.ts';
import { int, SqlParams } from './sql.ts';

/** The raw event API's listing on DuckDB: bound parameters, keyset order (time, tenant, id). */
export async function listEvents(conn: DuckDBConnection, q: EventListQuery): Promise<StoredEvent[]> {
  const p = new SqlParams();
  const where = ['true'];
  if (q.tenant !== undefined) where.push(`tenant = ${p.add(q.tenant)}`);
  if (q.type !== undefined) where.push(`type = ${p.add(q.type)}`);
  if (q.id !== undefined) where.push(`id = ${p.add(q.id)}`);
  if (q.from !== undefined) where.push(`time_us >= ${int(q.from)}`);
  if (q.to !== undefined) where.push(`time_us < ${int(q.to)}`);
  if (q.ingestedFrom !== undefined) where.push(`ingested_us >= ${int(q.ingestedFrom)}`);
  if (q.ingestedTo !== undefined) where.push(`ingested_us < ${int(q.ingestedTo)}`);
  if (q.after) where.push(`(time_us, tenant, id) > (${int(q.after[0])}, ${p.add(q.after[1])}, ${p.add(q.after[2])})`);
  const rows = (await conn.runAndReadAll(`SELECT tenant, id, type, source, time_us, actor, data, content_hash, ingested_us FROM events WHERE ${where.join(' AND ')} ORDER BY time_us, tenant, id LIMIT ${int(q.limit)}`, p.values)).getRows();
  return rows.map((r) => {
    const dataJson = r[6] as string;
    return { tenant: r[0] as string, id: r[1] as string, type: r[2] as string, source: r[3] as string, time: Number(r[4]), actor: r[5] as string | null, data: JSON.parse(dataJson) as Record<string, unknown>, dataJson, contentHash: r[7] as string, ingestedAt: Number(r[8]) };
  });
}
