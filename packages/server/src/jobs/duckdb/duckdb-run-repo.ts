import type { DuckDBConnection } from '@duckdb/node-api';
import { SqlParams } from '../../store/duckdb/sql.ts';
import type { JobRun, RunStatus } from '../job.ts';
import type { JobRunRepo, RunFilter } from '../run-repo.ts';

const DDL = `CREATE TABLE IF NOT EXISTS job_runs (
  id VARCHAR PRIMARY KEY, job VARCHAR NOT NULL, key VARCHAR NOT NULL, range VARCHAR NOT NULL, attempt INTEGER NOT NULL,
  status VARCHAR NOT NULL, fence BIGINT NOT NULL, node VARCHAR NOT NULL, started_us BIGINT NOT NULL, ended_us BIGINT,
  output VARCHAR, error VARCHAR)`;
const COLUMNS = 'id, job, key, range, attempt, status, fence, node, started_us, ended_us, output, error';

/** Job runs in the embedded store's DuckDB file (their own table and connection). */
export class DuckDbJobRunRepo implements JobRunRepo {
  private constructor(private readonly conn: DuckDBConnection) {}

  /** Creates the table if needed on a connection of its own. */
  static async open(conn: DuckDBConnection): Promise<DuckDbJobRunRepo> {
    await conn.run(DDL);
    return new DuckDbJobRunRepo(conn);
  }

  async insert(r: JobRun): Promise<void> {
    await this.conn.run(`INSERT INTO job_runs (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL)`, [r.id, r.job, r.key, r.range, r.attempt, r.status, BigInt(r.fence), r.node, BigInt(r.startedAt)]);
  }

  async finish(r: JobRun, end: { status: Exclude<RunStatus, 'running'>; endedAt: number; output: Record<string, unknown> | null; error: string | null }): Promise<void> {
    await this.conn.run('UPDATE job_runs SET status = $1, ended_us = $2, output = $3, error = $4 WHERE id = $5', [end.status, BigInt(end.endedAt), end.output === null ? null : JSON.stringify(end.output), end.error, r.id]);
  }

  async list(f: RunFilter): Promise<JobRun[]> {
    const p = new SqlParams();
    const where = ['true'];
    if (f.job !== undefined) where.push(`job = ${p.add(f.job)}`);
    if (f.key !== undefined) where.push(`key = ${p.add(f.key)}`);
    if (f.status !== undefined) where.push(`status = ${p.add(f.status)}`);
    const limit = Math.max(1, Math.min(f.limit ?? 100, 10_000));
    const rows = (await this.conn.runAndReadAll(`SELECT ${COLUMNS} FROM job_runs WHERE ${where.join(' AND ')} ORDER BY started_us DESC, attempt DESC, id DESC LIMIT ${limit}`, p.values)).getRows();
    return rows.map((r) => ({
      id: r[0] as string,
      job: r[1] as string,
      key: r[2] as string,
      range: r[3] as string,
      attempt: Number(r[4]),
      status: r[5] as RunStatus,
      fence: Number(r[6]),
      node: r[7] as string,
      startedAt: Number(r[8]),
      endedAt: r[9] === null ? null : Number(r[9]),
      output: r[10] === null ? null : (JSON.parse(r[10] as string) as Record<string, unknown>),
      error: r[11] as string | null,
    }));
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
