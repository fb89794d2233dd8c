import type { DuckDBConnection } from '@duckdb/node-api';
import { int, SqlParams } from '../../store/duckdb/sql.ts';
import type { AccessEntry } from './entry.ts';
import type { AccessFilter, AccessLogRepo } from './repo.ts';

const DDL = `CREATE TABLE IF NOT EXISTS access_log (
  chain VARCHAR NOT NULL, seq BIGINT NOT NULL, at_us BIGINT NOT NULL, key_id VARCHAR, tenants VARCHAR[] NOT NULL,
  body VARCHAR NOT NULL, PRIMARY KEY (chain, seq))`;

/** The access log in the embedded store's DuckDB file (`body`: the entry exactly as hashed). */
export class DuckDbAccessLogRepo implements AccessLogRepo {
  private constructor(private readonly conn: DuckDBConnection) {}

  /** Creates the table if needed, on a connection of its own. */
  static async open(conn: DuckDBConnection): Promise<DuckDbAccessLogRepo> {
    await conn.run(DDL);
    return new DuckDbAccessLogRepo(conn);
  }

  async append(entries: readonly AccessEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const p = new SqlParams();
    const rows = entries.map((e) => `(${p.add(e.chain)}, ${int(e.seq)}, ${int(e.at)}, ${e.keyId === null ? 'NULL' : p.add(e.keyId)}, from_json(${p.add(JSON.stringify(e.tenants))}, '["VARCHAR"]'), ${p.add(JSON.stringify(e))})`);
    await this.conn.run(`INSERT INTO access_log VALUES ${rows.join(', ')}`, p.values);
  }

  private async read(sql: string, p: SqlParams): Promise<AccessEntry[]> {
    const rows = (await this.conn.runAndReadAll(sql, p.values)).getRows();
    return rows.map((r) => JSON.parse(String(r[0])) as AccessEntry);
  }

  async last(chain: string): Promise<AccessEntry | undefined> {
    const p = new SqlParams();
    return (await this.read(`SELECT body FROM access_log WHERE chain = ${p.add(chain)} ORDER BY seq DESC LIMIT 1`, p))[0];
  }

  async list(f: AccessFilter): Promise<AccessEntry[]> {
    const p = new SqlParams();
    const where = ['TRUE'];
    if (f.tenant !== undefined) where.push(`(list_contains(tenants, ${p.add(f.tenant)}) OR len(tenants) = 0)`);
    if (f.keyId !== undefined) where.push(`key_id = ${p.add(f.keyId)}`);
    if (f.from !== undefined) where.push(`at_us >= ${int(f.from)}`);
    if (f.to !== undefined) where.push(`at_us < ${int(f.to)}`);
    return this.read(`SELECT body FROM access_log WHERE ${where.join(' AND ')} ORDER BY at_us DESC, chain, seq DESC LIMIT ${int(f.limit)}`, p);
  }

  async chains(): Promise<string[]> {
    const rows = (await this.conn.runAndReadAll('SELECT DISTINCT chain FROM access_log ORDER BY chain')).getRows();
    return rows.map((r) => String(r[0]));
  }

  async page(chain: string, afterSeq: number, limit: number): Promise<AccessEntry[]> {
    const p = new SqlParams();
    return this.read(`SELECT body FROM access_log WHERE chain = ${p.add(chain)} AND seq > ${int(afterSeq)} ORDER BY seq LIMIT ${int(limit)}`, p);
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
