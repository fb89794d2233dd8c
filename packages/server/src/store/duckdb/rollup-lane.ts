import type { DuckDBConnection } from '@duckdb/node-api';
import type { DerivedRows, RollupDelta } from '../../usage/derive-rollups.ts';
import { PendingRollups } from './pending-rollups.ts';
import type { RollupAccumulator } from '../../usage/rollup-accumulator.ts';
import { appendDerived, inTransaction } from './rows.ts';
import { RESOLUTION_MICROS } from '../../usage/resolution.ts';
import { DIM_COLUMNS, PENDING_FACTS_AS_UNIQUE, PENDING_TABLES, ROLLUP_COLUMNS, ROLLUP_KEY, ROLLUP_MERGE, TOTAL_KEY, deltasAt, rollupTable } from './schema.ts';

/** Flush in-memory rollups when they hold this many rows… */
const FLUSH_ROWS = 100_000;
/** …or when the oldest is this old. */
const FLUSH_EVERY_MS = 5_000;
/** Compact when this many rows (deltas and facts) are pending… */
const COMPACT_ROWS = 1_000_000;
/** …or when the last compaction is this old. */
const COMPACT_EVERY_MS = 60_000;

/** Meta key of the highest event sequence the rollup tables include. */
export const WATERMARK = 'rollup_watermark_seq';

/**
 * The rollup side of the embedded store, on its own connection beside ingest: the in-process
 * aggregator of committed events (`PendingRollups`), its flushes (rows and watermark in one
 * transaction) and compaction of the minute deltas into minute, hour and day rollups. Work
 * runs one piece at a time on the lane, never blocking ingest commits.
 */
export class RollupLane {
  private pending = new PendingRollups();
  private lane: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private flushQueued = false;
  private lastCompaction = Date.now();

  constructor(
    private readonly conn: DuckDBConnection,
    /** Pending rows (deltas and facts) not yet compacted. */
    private pendingRows: number,
    /** Resolves once crash recovery has replayed everything above the watermark. */
    private readonly recovered: Promise<void>,
    /** Told about the minute deltas of every flush once its transaction has committed. */
    private readonly onFlushed?: (rows: readonly RollupDelta[]) => void,
  ) {}

  /** Where committed events' minute deltas may be derived straight into (until the next flush). */
  get accumulator(): RollupAccumulator {
    return this.pending.deltas;
  }

  /** Takes the rows derived from committed events up to sequence `seq`, straight into `accumulator`. */
  add(derived: DerivedRows, seq: number): void {
    this.pending.add(derived, seq, true);
  }

  /** Rows written outside the lane (a meter backfill), to count towards compaction. */
  addPendingRows(n: number): void {
    this.pendingRows += n;
  }

  /** Runs `fn` on the lane (after the lane's earlier work). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.busy++;
    const run = this.lane.then(fn, fn).finally(() => this.busy--);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /**
   * During crash recovery (before `recovered`): flushes once the replay holds many rows, so a
   * long replay (a rebuild of every rollup) runs in bounded memory; each flush writes the
   * replayed rows and their watermark together, as any flush.
   */
  async flushIfLarge(): Promise<void> {
    if (this.pending.size >= 4 * FLUSH_ROWS) await this.run(() => this.flush());
  }

  /**
   * Flushes now, on the lane. Like every ordinary lane task it is queued only once crash
   * recovery is over, so nothing on the lane ever waits for recovery (whose own flushes use it).
   */
  async flushNow(): Promise<void> {
    await this.recovered;
    return this.run(() => this.flush());
  }

  /** Flushes and compacts now, on the lane (close, tests and benchmarks). */
  async compactNow(): Promise<void> {
    await this.recovered;
    return this.run(async () => {
      await this.flush();
      await this.compact();
    });
  }

  /** Closes the lane's connection (after a final `compactNow`). */
  close(): void {
    this.conn.closeSync();
  }

  /** Makes every committed event visible to rollup queries. */
  async readable(): Promise<void> {
    await this.recovered;
    if (this.pending.size > 0 || this.busy > 0) await this.flushNow();
  }

  /**
   * After an ingest commit: queues a flush (and a compaction when due) when enough is held;
   * waits for the lane when it fell far behind, so memory stays bounded (backpressure).
   */
  async afterCommit(): Promise<void> {
    if (!this.flushQueued && this.pending.size > 0 && (this.pending.size >= FLUSH_ROWS || this.pending.ageMs >= FLUSH_EVERY_MS)) {
      this.flushQueued = true;
      void this.recovered
        .then(() =>
          this.run(async () => {
            await this.flush();
            if (this.pendingRows >= COMPACT_ROWS || Date.now() - this.lastCompaction >= COMPACT_EVERY_MS) await this.compact();
          }),
        )
        .catch(() => undefined)
        .finally(() => {
          this.flushQueued = false;
        });
    }
    if (this.pending.size > 4 * FLUSH_ROWS) await this.lane;
  }

  /**
   * Writes the aggregator's rows and their watermark in one transaction. Ingest goes on
   * meanwhile into a fresh aggregator; on failure the rows go back into it.
   */
  private async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = this.pending;
    this.pending = new PendingRollups();
    const rows = taken.rows();
    try {
      await inTransaction(this.conn, async () => {
        this.pendingRows += await appendDerived(this.conn, rows);
        await this.conn.run('INSERT OR REPLACE INTO meta VALUES ($1, $2)', [WATERMARK, String(taken.seq)]);
      });
    } catch (err) {
      this.pending.add(rows, taken.seq);
      throw err;
    }
    this.onFlushed?.(rows.rollups);
  }

  /**
   * Folds the minute deltas into the rollup tables in one transaction: minute rows are
   * appended as flushed; each touched hour and day bucket (per dimensions and per-tenant
   * total) is re-aggregated from its compacted row plus the deltas and replaced. The deltas
   * are grouped once to hours, and days and totals are grouped from that (far fewer rows)
   * rather than each from the raw deltas. Pending distinct-value facts move into
   * `unique_facts` (with their dimension columns) in the same transaction.
   */
  private async compact(): Promise<void> {
    if (this.pendingRows === 0) return;
    const key = ROLLUP_KEY.join(', ');
    const dims = DIM_COLUMNS.map((d) => `any_value(${d}) AS ${d}`).join(', ');
    const merged = ROLLUP_MERGE.map((m, i) => `${m} AS ${ROLLUP_COLUMNS[i]!}`).join(', ');
    const noDims = DIM_COLUMNS.map((d) => `NULL::VARCHAR AS ${d}`).join(', ');
    /** `source` regrouped to `res` buckets, per dimensions or as per-tenant totals. */
    const regroup = (source: string, res: 'hour' | 'day', totals: boolean) => {
      const w = RESOLUTION_MICROS[res];
      const bucket = `(bucket_us // ${w}) * ${w}`;
      return totals
        ? `SELECT meter, tenant, '${res}' AS res, ${bucket} AS bucket_us, '${TOTAL_KEY}' AS dim_key, ${noDims}, ${merged} FROM ${source} GROUP BY meter, tenant, ${bucket}`
        : `SELECT meter, tenant, '${res}' AS res, ${bucket} AS bucket_us, dim_key, ${dims}, ${merged} FROM ${source} GROUP BY meter, tenant, ${bucket}, dim_key`;
    };
    // Deltas arrive roughly in time order: bounding the scan of old rows lets zone maps skip the past.
    const near = (d: string) => `r.bucket_us >= (SELECT min(bucket_us) FROM ${d}) AND r.bucket_us <= (SELECT max(bucket_us) FROM ${d})`;
    const c = this.conn;
    await inTransaction(c, async () => {
      // Minute rows move as they are (each already merges a whole flush window; queries
      // group anyway): an append, where re-merging them would rewrite the biggest table.
      await c.run(`INSERT INTO ${rollupTable('minute')} ${deltasAt('minute')}`);
      await c.run(`CREATE OR REPLACE TEMP TABLE d_hour AS ${regroup(`(${deltasAt('minute')})`, 'hour', false)}`);
      await c.run(`CREATE OR REPLACE TEMP TABLE d_day AS ${regroup('d_hour', 'day', false)}`);
      await c.run(`CREATE OR REPLACE TEMP TABLE d_hour_total AS ${regroup('d_hour', 'hour', true)}`);
      await c.run(`CREATE OR REPLACE TEMP TABLE d_day_total AS ${regroup('d_hour_total', 'day', true)}`);
      for (const [table, d] of [
        [rollupTable('hour'), 'd_hour'],
        [rollupTable('day'), 'd_day'],
        [rollupTable('hour', true), 'd_hour_total'],
        [rollupTable('day', true), 'd_day_total'],
      ] as const) {
        // `d` holds one row per key, so its keys are the touched buckets.
        await c.run(
          `CREATE OR REPLACE TEMP TABLE merged AS SELECT ${key}, ${dims}, ${merged} FROM
             (SELECT r.* FROM ${table} r SEMI JOIN ${d} USING (${key}) WHERE ${near(d)} UNION ALL SELECT * FROM ${d}) GROUP BY ${key}`,
        );
        await c.run(`DELETE FROM ${table} r USING ${d} t WHERE ${near(d)} AND ${ROLLUP_KEY.map((k) => `r.${k} = t.${k}`).join(' AND ')}`);
        await c.run(`INSERT INTO ${table} SELECT * FROM merged`);
      }
      await c.run(`INSERT INTO unique_facts ${PENDING_FACTS_AS_UNIQUE}`);
      for (const t of PENDING_TABLES) await c.run(`DELETE FROM ${t}`);
    });
    this.pendingRows = 0;
    this.lastCompaction = Date.now();
  }
}
