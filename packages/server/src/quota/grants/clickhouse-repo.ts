import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import { joinVoids, type GrantRecord, type GrantRepo, type GrantVoid, type StoredGrant } from './repo.ts';

// Insert-only; writers serialise through the quota lock, so an id is inserted once per tenant.
const DDL = [
  'CREATE TABLE IF NOT EXISTS quota_grants (tenant String, id String, body String) ENGINE = MergeTree ORDER BY (tenant, id)',
  'CREATE TABLE IF NOT EXISTS quota_grant_voids (tenant String, id String, body String) ENGINE = MergeTree ORDER BY (tenant, id)',
];

/** Grants in the distributed profile's ClickHouse database (`body`: the record as JSON). */
export class ClickHouseGrantRepo implements GrantRepo {
  private constructor(private readonly client: ClickHouseClient) {}

  /** Connects and creates the tables if needed. */
  static async open(opts: { url: string; database: string }): Promise<ClickHouseGrantRepo> {
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: 30_000 });
    for (const query of DDL) await client.command({ query });
    return new ClickHouseGrantRepo(client);
  }

  async add(g: StoredGrant): Promise<void> {
    await this.client.command({ query: `INSERT INTO quota_grants VALUES (${lit(g.tenant)}, ${lit(g.id)}, ${lit(JSON.stringify(g))})` });
  }

  async void(v: GrantVoid): Promise<void> {
    await this.client.command({ query: `INSERT INTO quota_grant_voids VALUES (${lit(v.tenant)}, ${lit(v.id)}, ${lit(JSON.stringify(v))})` });
  }

  private async bodies<T>(table: string, tenant: string | undefined): Promise<T[]> {
    const where = tenant === undefined ? '' : ` WHERE tenant = ${lit(tenant)}`;
    const text = await (await this.client.query({ query: `SELECT body FROM ${table}${where}`, format: 'TabSeparated' })).text();
    return parseTsv(text).map((r) => JSON.parse(r[0]!) as T);
  }

  async list(tenant?: string): Promise<GrantRecord[]> {
    return joinVoids(await this.bodies<StoredGrant>('quota_grants', tenant), await this.bodies<GrantVoid>('quota_grant_voids', tenant));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
