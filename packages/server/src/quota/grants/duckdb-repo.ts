import type { DuckDBConnection } from '@duckdb/node-api';
import { SqlParams } from '../../store/duckdb/sql.ts';
import { joinVoids, type GrantRepo, type GrantVoid, type StoredGrant } from './repo.ts';

const DDL = [
  'CREATE TABLE IF NOT EXISTS quota_grants (tenant VARCHAR NOT NULL, id VARCHAR NOT NULL, body VARCHAR NOT NULL, PRIMARY KEY (tenant, id))',
  'CREATE TABLE IF NOT EXISTS quota_grant_voids (tenant VARCHAR NOT NULL, id VARCHAR NOT NULL, body VARCHAR NOT NULL)',
];

/** Grants in the embedded store's DuckDB file (`body`: the record as JSON). */
export class DuckDbGrantRepo implements GrantRepo {
  private constructor(private readonly conn: DuckDBConnection) {}

  /** Creates the tables if needed, on a connection of its own. */
  static async open(conn: DuckDBConnection): Promise<DuckDbGrantRepo> {
    for (const sql of DDL) await conn.run(sql);
    return new DuckDbGrantRepo(conn);
  }

  async add(g: StoredGrant): Promise<void> {
    const p = new SqlParams();
    await this.conn.run(`INSERT INTO quota_grants VALUES (${p.add(g.tenant)}, ${p.add(g.id)}, ${p.add(JSON.stringify(g))})`, p.values);
  }

  async void(v: GrantVoid): Promise<void> {
    const p = new SqlParams();
    await this.conn.run(`INSERT INTO quota_grant_voids VALUES (${p.add(v.tenant)}, ${p.add(v.id)}, ${p.add(JSON.stringify(v))})`, p.values);
  }

  private async bodies<T>(table: string, tenant: string | undefined): Promise<T[]> {
    const p = new SqlParams();
    const where = tenant === undefined ? '' : ` WHERE tenant = ${p.add(tenant)}`;
    const rows = (await this.conn.runAndReadAll(`SELECT body FROM ${table}${where}`, p.values)).getRows();
    return rows.map((r) => JSON.parse(String(r[0])) as T);
  }

  async list(tenant?: string): Promise<ReturnType<typeof joinVoids>> {
    return joinVoids(await this.bodies<StoredGrant>('quota_grants', tenant), await this.bodies<GrantVoid>('quota_grant_voids', tenant));
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
