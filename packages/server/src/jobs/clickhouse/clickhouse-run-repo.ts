import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import type { JobRun, RunStatus } from '../job.ts';
import type { JobRunRepo, RunFilter } from '../run-repo.ts';

// One row per state of a run; the latest version wins (FINAL / argMax). ClickHouse has no
// UPDATE worth the name, so a run's end is a new row with a higher version.
const DDL = `CREATE TABLE IF NOT EXISTS job_runs (
  id String, job String, key String, range String, attempt UInt32, status String, fence UInt64, node String,
  started_us Int64, ended_us Nullable(Int64), output Nullable(String), error Nullable(String), ver UInt8
) ENGINE = ReplacingMergeTree(ver) ORDER BY id`;
const COLUMNS = 'id, job, key, range, attempt, status, fence, node, started_us, ended_us, output, error';

/** Job runs in the distributed profile's ClickHouse database. */
export class ClickHouseJobRunRepo implements JobRunRepo {
  private constructor(private readonly client: ClickHouseClient) {}

  /** Connects and creates the table if needed. */
  static async open(opts: { url: string; database: string }): Promise<ClickHouseJobRunRepo> {
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: 30_000 });
    await client.command({ query: DDL });
    return new ClickHouseJobRunRepo(client);
  }

  private async write(r: JobRun, ver: number): Promise<void> {
    const n = (v: number | null) => (v === null ? 'NULL' : String(v));
    const s = (v: string | null) => (v === null ? 'NULL' : lit(v));
    const values = [lit(r.id), lit(r.job), lit(r.key), lit(r.range), r.attempt, lit(r.status), r.fence, lit(r.node), r.startedAt, n(r.endedAt), s(r.output === null ? null : JSON.stringify(r.output)), s(r.error), ver];
    await this.client.command({ query: `INSERT INTO job_runs VALUES (${values.join(', ')})` });
  }

  insert(r: JobRun): Promise<void> {
    return this.write(r, 0);
  }

  finish(r: JobRun, end: { status: Exclude<RunStatus, 'running'>; endedAt: number; output: Record<string, unknown> | null; error: string | null }): Promise<void> {
    return this.write({ ...r, ...end }, 1);
  }

  async list(f: RunFilter): Promise<JobRun[]> {
    const where = ['1'];
    if (f.job !== undefined) where.push(`job = ${lit(f.job)}`);
    if (f.key !== undefined) where.push(`key = ${lit(f.key)}`);
    if (f.status !== undefined) where.push(`status = ${lit(f.status)}`);
    const limit = Math.max(1, Math.min(f.limit ?? 100, 10_000));
    const text = await (await this.client.query({ query: `SELECT ${COLUMNS} FROM job_runs FINAL WHERE ${where.join(' AND ')} ORDER BY started_us DESC, attempt DESC, id DESC LIMIT ${limit}`, format: 'TabSeparated' })).text();
    return parseTsv(text).map((r) => ({
      id: r[0]!,
      job: r[1]!,
      key: r[2]!,
      range: r[3]!,
      attempt: Number(r[4]),
      status: r[5] as RunStatus,
      fence: Number(r[6]),
      node: r[7]!,
      startedAt: Number(r[8]),
      endedAt: r[9] === null ? null : Number(r[9]),
      output: r[10] === null ? null : (JSON.parse(r[10]!) as Record<string, unknown>),
      error: r[11] ?? null,
    }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
