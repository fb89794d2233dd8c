import type { DuckDBConnection } from '@duckdb/node-api';
import { int, SqlParams } from '../../store/duckdb/sql.ts';
import type { AccessEntry } from './entry.ts';
import type { AccessFilter, AccessLogRepo, Checkpoint } from './repo.ts';

const DDL = `CREATE TABLE IF NOT EXISTS access_log (
  chain VARCHAR NOT NULL, seq BIGINT NOT NULL, at_us BIGINT NOT NULL, key_id VARCHAR, tenants VARCHAR[] NOT NULL,
  body VARCHAR NOT NULL, PRIMARY KEY (chain, seq))`;
const CHECKPOINT_DDL = `CREATE TABLE IF NOT EXISTS access_log_checkpoints (chain VARCHAR NOT NULL, seq BIGINT NOT NULL, hash VARCHAR NOT NULL, at_us BIGINT NOT NULL)`;

/** The access log in the embedded store's DuckDB file (`body`: the entry exactly as hashed). */
export class DuckDbAccessLogRepo implements AccessLogRepo {
  private constructor(private readonly conn: DuckDBConnection) {}

  /** Creates the table if needed, on a connection of its own. */
  static async open(conn: DuckDBConnection): Promise<DuckDbAccessLogRepo> {
    await conn.run(DDL);
    await conn.run(CHECKPOINT_DDL);
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

  async checkpoint(chain: string): Promise<Checkpoint | undefined> {
    const p = new SqlParams();
    const [r] = (await this.conn.runAndReadAll(`SELECT seq, hash, at_us FROM access_log_checkpoints WHERE chain = ${p.add(chain)} ORDER BY seq DESC LIMIT 1`, p.values)).getRows();
    return r ? { chain, seq: Number(r[0]), hash: String(r[1]), at: Number(r[2]) } : undefined;
  }

  async dropBefore(before: number, dryRun: boolean): Promise<{ entries: number; chains: number }> {
    // Per chain, the last entry older than `before`, never the chain's newest.
    const cuts = (
      await this.conn.runAndReadAll(
        `SELECT a.chain, a.seq, a.body FROM access_log a JOIN (SELECT chain, max(seq) FILTER (WHERE at_us < ${int(before)}) AS cut, max(seq) AS top FROM access_log GROUP BY chain) c
           ON a.chain = c.chain AND a.seq = least(c.cut, c.top - 1) WHERE c.cut IS NOT NULL`,
      )
    ).getRows();
    let entries = 0;
    for (const [chain, seq, body] of cuts) {
      const e = JSON.parse(String(body)) as AccessEntry;
      const p = new SqlParams();
      const range = `chain = ${p.add(String(chain))} AND seq <= ${int(Number(seq))}`;
      if (dryRun) {
        entries += Number((await this.conn.runAndReadAll(`SELECT count(*) FROM access_log WHERE ${range}`, p.values)).getRows()[0]![0]);
        continue;
      }
      await this.conn.run('BEGIN TRANSACTION');
      try {
        const q = new SqlParams();
        await this.conn.run(`INSERT INTO access_log_checkpoints VALUES (${q.add(e.chain)}, ${int(e.seq)}, ${q.add(e.hash)}, ${int(e.at)})`, q.values);
        entries += Number((await this.conn.run(`DELETE FROM access_log WHERE ${range}`, p.values)).rowsChanged);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return { entries, chains: cuts.length };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
