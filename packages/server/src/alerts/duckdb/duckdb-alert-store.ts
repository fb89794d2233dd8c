import type { DuckDBConnection } from '@duckdb/node-api';
import { SqlParams } from '../../store/duckdb/sql.ts';
import { boundedLimit, historyCondition, type AlertRecord, type AlertStore, type RecordFilter, type RecordKind } from '../store.ts';

const DDL = `CREATE TABLE IF NOT EXISTS alert_records (
  kind VARCHAR NOT NULL, id VARCHAR NOT NULL, tenant VARCHAR NOT NULL, status VARCHAR NOT NULL, at_us BIGINT NOT NULL,
  ref VARCHAR NOT NULL, body VARCHAR NOT NULL, PRIMARY KEY (kind, id))`;

/** The alerts store in the embedded DuckDB file (its own table and connection). */
export class DuckDbAlertStore implements AlertStore {
  private constructor(private readonly conn: DuckDBConnection) {}

  /** Creates the table if needed on a connection of its own. */
  static async open(conn: DuckDBConnection): Promise<DuckDbAlertStore> {
    await conn.run(DDL);
    return new DuckDbAlertStore(conn);
  }

  private values(r: AlertRecord): (string | bigint)[] {
    return [r.kind, r.id, r.tenant, r.status, BigInt(r.at), r.ref, r.body];
  }

  async put(r: AlertRecord): Promise<void> {
    await this.conn.run('INSERT OR REPLACE INTO alert_records VALUES ($1, $2, $3, $4, $5, $6, $7)', this.values(r));
  }

  async putNew(r: AlertRecord): Promise<boolean> {
    const res = await this.conn.run('INSERT INTO alert_records VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING', this.values(r));
    return res.rowsChanged > 0;
  }

  async dropHistory(before: number, dryRun: boolean): Promise<number> {
    const where = `at_us < ${Math.trunc(before)} AND ${historyCondition()}`;
    if (dryRun) return Number((await this.conn.runAndReadAll(`SELECT count(*) FROM alert_records WHERE ${where}`)).getRows()[0]![0]);
    return Number((await this.conn.run(`DELETE FROM alert_records WHERE ${where}`)).rowsChanged);
  }

  async get(kind: RecordKind, id: string): Promise<AlertRecord | undefined> {
    const rows = (await this.conn.runAndReadAll("SELECT kind, id, tenant, status, at_us, ref, body FROM alert_records WHERE kind = $1 AND id = $2 AND status <> 'deleted'", [kind, id])).getRows();
    return rows.map(toRecord)[0];
  }

  async list(kind: RecordKind, f: RecordFilter = {}): Promise<AlertRecord[]> {
    const p = new SqlParams();
    const where = [`kind = ${p.add(kind)}`, "status <> 'deleted'"];
    if (f.tenant !== undefined) where.push(`tenant = ${p.add(f.tenant)}`);
    if (f.status !== undefined) where.push(`status = ${p.add(f.status)}`);
    if (f.ref !== undefined) where.push(`ref = ${p.add(f.ref)}`);
    if (f.from !== undefined) where.push(`at_us >= ${Math.trunc(f.from)}`);
    if (f.to !== undefined) where.push(`at_us <= ${Math.trunc(f.to)}`);
    const dir = f.order === 'asc' ? 'ASC' : 'DESC';
    const sql = `SELECT kind, id, tenant, status, at_us, ref, body FROM alert_records WHERE ${where.join(' AND ')} ORDER BY at_us ${dir}, id ${dir} LIMIT ${boundedLimit(f.limit)}`;
    return (await this.conn.runAndReadAll(sql, p.values)).getRows().map(toRecord);
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}

function toRecord(r: unknown[]): AlertRecord {
  return { kind: r[0] as RecordKind, id: r[1] as string, tenant: r[2] as string, status: r[3] as string, at: Number(r[4]), ref: r[5] as string, body: r[6] as string };
}
