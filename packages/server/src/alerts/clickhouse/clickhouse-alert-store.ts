import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import { boundedLimit, historyCondition, type AlertRecord, type AlertStore, type RecordFilter, type RecordKind } from '../store.ts';

// One row per version of a record; the highest `ver` wins. Reads take argMax per id instead of
// FINAL: on old servers a WHERE on a non-key column can be applied before FINAL collapses rows.
const DDL = `CREATE TABLE IF NOT EXISTS alert_records (
  kind String, id String, tenant String, status String, at_us Int64, ref String, body String, ver UInt64
) ENGINE = ReplacingMergeTree(ver) ORDER BY (kind, id)`;

let lastVer = 0;
/** Versions grow within a process even when two writes share a microsecond. */
function nextVer(): number {
  lastVer = Math.max(lastVer + 1, Date.now() * 1000);
  return lastVer;
}

/** The alerts store in the distributed profile's ClickHouse database. */
export class ClickHouseAlertStore implements AlertStore {
  private constructor(private readonly client: ClickHouseClient) {}

  /** Connects and creates the table if needed. */
  static async open(opts: { url: string; database: string }): Promise<ClickHouseAlertStore> {
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: 30_000 });
    await client.command({ query: DDL });
    return new ClickHouseAlertStore(client);
  }

  async put(r: AlertRecord): Promise<void> {
    const values = [lit(r.kind), lit(r.id), lit(r.tenant), lit(r.status), Math.trunc(r.at), lit(r.ref), lit(r.body), nextVer()];
    await this.client.command({ query: `INSERT INTO alert_records VALUES (${values.join(', ')})` });
  }

  async putNew(r: AlertRecord): Promise<boolean> {
    if (await this.latest(r.kind, r.id)) return false;
    await this.put(r);
    return true;
  }

  private async latest(kind: RecordKind, id: string): Promise<AlertRecord | undefined> {
    return (await this.select(`kind = ${lit(kind)} AND id = ${lit(id)}`, [], 'ASC', 1))[0];
  }

  async get(kind: RecordKind, id: string): Promise<AlertRecord | undefined> {
    const r = await this.latest(kind, id);
    return r && r.status !== 'deleted' ? r : undefined;
  }

  async list(kind: RecordKind, f: RecordFilter = {}): Promise<AlertRecord[]> {
    const outer = ["r_status != 'deleted'"];
    if (f.status !== undefined) outer.push(`r_status = ${lit(f.status)}`);
    if (f.ref !== undefined) outer.push(`r_ref = ${lit(f.ref)}`);
    if (f.from !== undefined) outer.push(`r_at >= ${Math.trunc(f.from)}`);
    if (f.to !== undefined) outer.push(`r_at <= ${Math.trunc(f.to)}`);
    // A record's tenant never changes, so it may filter before the versions collapse.
    const inner = `kind = ${lit(kind)}${f.tenant !== undefined ? ` AND tenant = ${lit(f.tenant)}` : ''}`;
    return this.select(inner, outer, f.order === 'asc' ? 'ASC' : 'DESC', boundedLimit(f.limit));
  }

  private async select(inner: string, outer: string[], dir: 'ASC' | 'DESC', limit: number): Promise<AlertRecord[]> {
    const query = `SELECT r_kind, r_id, r_tenant, r_status, r_at, r_ref, r_body FROM (
      SELECT kind AS r_kind, id AS r_id, any(tenant) AS r_tenant, argMax(status, ver) AS r_status, argMax(at_us, ver) AS r_at,
        argMax(ref, ver) AS r_ref, argMax(body, ver) AS r_body
      FROM alert_records WHERE ${inner} GROUP BY kind, id)
      ${outer.length > 0 ? `WHERE ${outer.join(' AND ')}` : ''} ORDER BY r_at ${dir}, r_id ${dir} LIMIT ${limit}`;
    const text = await (await this.client.query({ query, format: 'TabSeparated' })).text();
    return parseTsv(text).map((r) => ({ kind: r[0] as RecordKind, id: r[1]!, tenant: r[2]!, status: r[3]!, at: Number(r[4]), ref: r[5]!, body: r[6]! }));
  }

  /** Finds the records by their latest version, then deletes all their versions (mutations, awaited). */
  async dropHistory(before: number, dryRun: boolean): Promise<number> {
    const query = `SELECT r_kind, r_id FROM (SELECT kind AS r_kind, id AS r_id, argMax(status, ver) AS r_status, argMax(at_us, ver) AS r_at FROM alert_records GROUP BY kind, id)
      WHERE r_at < ${Math.trunc(before)} AND ${historyCondition('r_kind', 'r_status')}`;
    const ids = parseTsv(await (await this.client.query({ query, format: 'TabSeparated' })).text());
    if (!dryRun) {
      for (let i = 0; i < ids.length; i += 1000) {
        const tuples = ids.slice(i, i + 1000).map((r) => `(${lit(r[0]!)}, ${lit(r[1]!)})`);
        await this.client.command({ query: `ALTER TABLE alert_records DELETE WHERE (kind, id) IN (${tuples.join(', ')})` });
      }
      // 18.16 has no synchronous mutations: wait until they are applied, so the run reports what is gone.
      for (let waited = 0; ids.length > 0; waited += 100) {
        const pending = await (await this.client.query({ query: "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = 'alert_records' AND is_done = 0", format: 'TabSeparated' })).text();
        if (pending.trim() === '0') break;
        if (waited > 120_000) throw new Error('the alert history delete (a ClickHouse mutation) did not finish within 2 minutes; it continues in the background');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return ids.length;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
