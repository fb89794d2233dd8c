import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { eventKey, type AppendOutcome, type EventRecord } from '../../events/event.ts';
import { meterSchema, type MeterDefinition } from '../../meters/meter.ts';
import { BloomFilter } from '../../shared/bloom.ts';
import { GroupCommitQueue } from '../../shared/group-commit.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { Resolution } from '../../usage/resolution.ts';
import type { AggregateQuery, AggregateRow, RollupDeriver, StoredKey, UniqueRow, UsageStore } from '../port.ts';
import { aggregateSql } from './aggregate-sql.ts';
import { DDL, DIM_COLUMNS, SETTINGS, ROLLUP_KEY, ROLLUP_MERGE, STAGING_DDL, deltasAt, rollupsAt } from './schema.ts';
import { appendDerived, appendEvents, storedHashes } from './rows.ts';
import { lit, readBig, readScaled } from './sql.ts';

/** Options of the embedded store. */
export interface DuckDbStoreOptions {
  /** Database file, or ':memory:'. */
  path: string;
  /** Derives rollups for appended events from the live meter set. */
  derive: RollupDeriver;
  /** Clock for `ingested_us`. */
  nowMicros?: () => EpochMicros;
}

const SCAN_PAGE = 10_000;
/** Compact when this many delta rows are pending… */
const COMPACT_ROWS = 200_000;
/** …or when the oldest pending delta is this old. */
const COMPACT_EVERY_MS = 5_000;

/**
 * The embedded store on one DuckDB file. One writer connection serialises writes through a
 * group-commit queue: each commit holds the raw events, the dedupe decision (the events
 * primary key) and the rollup upserts in one transaction, so a crash keeps all or none.
 */
export class DuckDbStore implements UsageStore {
  readonly engine = 'duckdb';
  private readonly queue: GroupCommitQueue<EventRecord, AppendOutcome>;
  private closed = false;
  private deltaRows = 0;
  private lastCompaction = Date.now();
  private compactionQueued = false;
  /** Every stored (tenant, id): lets a new id skip the ledger lookup. */
  private readonly seen = new BloomFilter();
  /** (tenant, id) → content hash of events in groups not yet committed. */
  private readonly inflight = new Map<string, string>();
  /** Resolves true when the latest started group committed (false if it failed). */
  private lastCommit: Promise<boolean> = Promise.resolve(true);

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writers: DuckDBConnection[],
    private readonly reader: DuckDBConnection,
    private readonly opts: DuckDbStoreOptions,
  ) {
    this.queue = new GroupCommitQueue((events, slot) => this.writeBatch(events, slot), { slots: writers.length });
  }

  /** Opens (creating if needed) the database file and its schema. */
  static async open(opts: DuckDbStoreOptions): Promise<DuckDbStore> {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    const instance = await DuckDBInstance.create(opts.path);
    const writers = [await instance.connect(), await instance.connect()];
    const writer = writers[0]!;
    for (const sql of [...SETTINGS, ...DDL]) await writer.run(sql);
    for (const w of writers) for (const ddl of STAGING_DDL) await w.run(ddl);
    const reader = await instance.connect();
    const store = new DuckDbStore(instance, writers, reader, opts);
    store.deltaRows = Number(readBig((await writer.runAndReadAll('SELECT count(*) FROM rollup_deltas')).getRows()[0]![0]));
    const keys = await writer.stream('SELECT tenant, id FROM events');
    for (let chunk = await keys.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await keys.fetchChunk()) {
      const [tenants, ids] = chunk.getColumns() as [string[], string[]];
      for (let i = 0; i < tenants.length; i++) store.seen.add(eventKey(tenants[i]!, ids[i]!));
    }
    return store;
  }

  append(events: readonly EventRecord[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.queue.submit(events);
  }

  /**
   * Writes one commit group on writer `slot`. Two groups may be in flight at once (one
   * building its transaction while the other commits); commits still happen in order, and a
   * group never resolves before the groups ahead of it committed, because its duplicate
   * decisions may rest on their not-yet-committed events (`inflight`).
   */
  private async writeBatch(events: readonly EventRecord[], slot: number): Promise<AppendOutcome[]> {
    const conn = this.writers[slot]!;
    const outcomes: AppendOutcome[] = new Array(events.length);
    const mine = new Map<string, EventRecord>();
    const candidates: { e: EventRecord; i: number; key: string }[] = [];
    events.forEach((e, i) => {
      const key = eventKey(e.tenant, e.id);
      const earlier = mine.get(key)?.contentHash ?? this.inflight.get(key);
      if (earlier !== undefined) outcomes[i] = { status: 'duplicate', conflict: earlier !== e.contentHash };
      else {
        mine.set(key, e);
        candidates.push({ e, i, key });
      }
    });
    for (const c of candidates) this.inflight.set(c.key, c.e.contentHash);
    const ahead = this.lastCommit;
    let settle!: (ok: boolean) => void;
    this.lastCommit = new Promise<boolean>((r) => (settle = r));
    const fresh: EventRecord[] = [];
    let ok = false;
    try {
      const maybe = candidates.filter((c) => this.seen.mightContain(c.key)).map((c) => c.e);
      const stored = await storedHashes(conn, maybe);
      for (const c of candidates) {
        const hash = stored.get(c.key);
        if (hash !== undefined) outcomes[c.i] = { status: 'duplicate', conflict: hash !== c.e.contentHash };
        else {
          fresh.push(c.e);
          outcomes[c.i] = { status: 'accepted' };
        }
      }
      if (fresh.length > 0) {
        await conn.run('BEGIN TRANSACTION');
        try {
          await appendEvents(conn, fresh, this.opts.nowMicros?.() ?? Date.now() * 1000);
          this.deltaRows += await appendDerived(conn, this.opts.derive(fresh));
          if (!(await ahead)) throw new Error('an earlier commit failed; this batch was rolled back');
          await conn.run('COMMIT');
        } catch (err) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } else if (!(await ahead)) throw new Error('an earlier commit failed; this batch was not acknowledged');
      for (const e of fresh) this.seen.add(eventKey(e.tenant, e.id));
      ok = true;
    } finally {
      for (const c of candidates) this.inflight.delete(c.key);
      settle(ok);
    }
    this.scheduleCompaction();
    return outcomes;
  }

  /** Runs `fn` in a transaction on the first writer (exclusive work: compaction, meters). */
  private async transaction(fn: () => Promise<void>): Promise<void> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      await fn();
      await this.writer.run('COMMIT');
    } catch (err) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private get writer(): DuckDBConnection {
    return this.writers[0]!;
  }

  /**
   * Folds the minute deltas into `rollups` at minute, hour and day resolution in one
   * transaction: each touched bucket is re-aggregated from its compacted row plus the deltas,
   * replaced, and the deltas cleared.
   */
  private async compact(): Promise<void> {
    if (this.deltaRows === 0) return;
    const key = ROLLUP_KEY.join(', ');
    const dims = DIM_COLUMNS.map((d) => `any_value(${d})`).join(', ');
    // Deltas arrive roughly in time order: bounding the scan of `rollups` lets zone maps skip the past.
    const near = 'r.bucket_us >= (SELECT min(bucket_us) FROM touched) AND r.bucket_us <= (SELECT max(bucket_us) FROM touched)';
    await this.transaction(async () => {
      await this.writer.run(`CREATE OR REPLACE TEMP TABLE d3 AS ${(['minute', 'hour', 'day'] as const).map(deltasAt).join(' UNION ALL ')}`);
      await this.writer.run(`CREATE OR REPLACE TEMP TABLE touched AS SELECT DISTINCT ${key} FROM d3`);
      await this.writer.run(
        `CREATE OR REPLACE TEMP TABLE merged AS SELECT ${key}, ${dims}, ${ROLLUP_MERGE.join(', ')} FROM
           (SELECT r.* FROM rollups r SEMI JOIN touched USING (${key}) WHERE ${near} UNION ALL SELECT * FROM d3) GROUP BY ${key}`,
      );
      await this.writer.run(`DELETE FROM rollups r USING touched t WHERE ${near} AND ${ROLLUP_KEY.map((k) => `r.${k} = t.${k}`).join(' AND ')}`);
      await this.writer.run('INSERT INTO rollups SELECT * FROM merged');
      await this.writer.run('DELETE FROM rollup_deltas');
    });
    this.deltaRows = 0;
    this.lastCompaction = Date.now();
  }

  /** Schedules a compaction after the current writes when enough deltas piled up. */
  private scheduleCompaction(): void {
    if (this.compactionQueued || this.closed || this.deltaRows === 0) return;
    if (this.deltaRows < COMPACT_ROWS && Date.now() - this.lastCompaction < COMPACT_EVERY_MS) return;
    this.compactionQueued = true;
    void this.queue
      .exclusive(() => this.compact())
      .catch(() => undefined)
      .finally(() => {
        this.compactionQueued = false;
      });
  }

  /** Compacts now (tests and benchmarks use it to measure the steady state). */
  compactNow(): Promise<void> {
    return this.queue.exclusive(() => this.compact());
  }

  createMeter(def: MeterDefinition, derive: RollupDeriver, onCommitted: () => void): Promise<{ backfilled: number; skipped: number }> {
    return this.queue.exclusive(async () => {
      let backfilled = 0;
      let skipped = 0;
      await this.transaction(async () => {
        await this.writer.run(`INSERT INTO meters VALUES (${lit(def.slug)}, ${lit(JSON.stringify(def))}, ${Date.now() * 1000})`);
        for await (const page of this.scanWith(this.writer, def.eventType, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
          const derived = derive(page);
          backfilled += page.length - derived.skipped;
          skipped += derived.skipped;
          this.deltaRows += await appendDerived(this.writer, derived);
        }
      });
      onCommitted();
      return { backfilled, skipped };
    });
  }

  async listMeters(): Promise<MeterDefinition[]> {
    const rows = (await this.reader.runAndReadAll('SELECT definition FROM meters ORDER BY slug')).getRows();
    return rows.map((r) => meterSchema.parse(JSON.parse(r[0] as string)));
  }

  async aggregate(q: AggregateQuery, res: Resolution): Promise<AggregateRow[]> {
    const sql = aggregateSql(q, rollupsAt(res), 'bucket_us', [], ROLLUP_MERGE);
    const rows = (await this.reader.runAndReadAll(sql)).getRows();
    const k = 2 + q.groupDims.length;
    return rows.map((r) => {
      const latestValue = readScaled(r[k + 4]);
      return {
        window: Number(r[0]),
        tenant: r[1] as string | null,
        dims: r.slice(2, k) as (string | null)[],
        components: {
          count: readBig(r[k]),
          sum: readScaled(r[k + 1]),
          min: readScaled(r[k + 2]),
          max: readScaled(r[k + 3]),
          latest: latestValue === null ? null : { value: latestValue, time: Number(r[k + 5]), id: r[k + 6] as string },
        },
      };
    });
  }

  async countUnique(q: AggregateQuery): Promise<UniqueRow[]> {
    const sql = aggregateSql(q, 'unique_facts', 'bucket_us', [], ['count(DISTINCT t.value)']);
    const rows = (await this.reader.runAndReadAll(sql)).getRows();
    const k = 2 + q.groupDims.length;
    return rows.map((r) => ({ window: Number(r[0]), tenant: r[1] as string | null, dims: r.slice(2, k) as (string | null)[], count: readBig(r[k]) }));
  }

  scanEvents(type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
    return this.scanWith(this.reader, type, from, to, tenants);
  }

  private async *scanWith(conn: DuckDBConnection, type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
    let after: [number, string, string] | undefined;
    for (;;) {
      const where = [`type = ${lit(type)}`, `time_us >= ${from}`, `time_us < ${to}`];
      if (tenants) where.push(`tenant IN (${tenants.map(lit).join(', ')})`);
      if (after) where.push(`(time_us, tenant, id) > (${after[0]}, ${lit(after[1])}, ${lit(after[2])})`);
      const rows = (
        await conn.runAndReadAll(
          `SELECT tenant, id, type, source, time_us, actor, data, content_hash FROM events WHERE ${where.join(' AND ')} ORDER BY time_us, tenant, id LIMIT ${SCAN_PAGE}`,
        )
      ).getRows();
      if (rows.length === 0) return;
      const page = rows.map((r) => {
        const dataJson = r[6] as string;
        return { tenant: r[0] as string, id: r[1] as string, type: r[2] as string, source: r[3] as string, time: Number(r[4]), actor: r[5] as string | null, data: JSON.parse(dataJson) as Record<string, unknown>, dataJson, contentHash: r[7] as string };
      });
      yield page;
      const last = page[page.length - 1]!;
      after = [last.time, last.tenant, last.id];
      if (rows.length < SCAN_PAGE) return;
    }
  }

  async countEvents(): Promise<bigint> {
    const rows = (await this.reader.runAndReadAll('SELECT count(*) FROM events')).getRows();
    return readBig(rows[0]![0]);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = (await this.reader.runAndReadAll(`SELECT value FROM meta WHERE key = ${lit(key)}`)).getRows();
    return rows[0]?.[0] as string | undefined;
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.queue.exclusive(async () => {
      await this.writer.run(`INSERT OR REPLACE INTO meta VALUES (${lit(key)}, ${lit(value)})`);
    });
  }

  putKey(k: StoredKey): Promise<void> {
    return this.queue.exclusive(async () => {
      await this.writer.run(
        `INSERT INTO api_keys VALUES (${lit(k.id)}, ${lit(k.name)}, ${lit(k.hash)}, ${lit(k.scopes.join(','))}, ${k.tenant === null ? 'NULL' : lit(k.tenant)}, ${k.createdAt}, ${k.revokedAt ?? 'NULL'})`,
      );
    });
  }

  async listKeys(): Promise<StoredKey[]> {
    const rows = (await this.reader.runAndReadAll('SELECT id, name, hash, scopes, tenant, created_us, revoked_us FROM api_keys ORDER BY created_us, id')).getRows();
    return rows.map((r) => ({
      id: r[0] as string,
      name: r[1] as string,
      hash: r[2] as string,
      scopes: (r[3] as string).split(',').filter(Boolean),
      tenant: r[4] as string | null,
      createdAt: Number(r[5]),
      revokedAt: r[6] === null ? null : Number(r[6]),
    }));
  }

  revokeKey(id: string, at: EpochMicros): Promise<boolean> {
    return this.queue.exclusive(async () => {
      const r = await this.writer.runAndReadAll(`UPDATE api_keys SET revoked_us = ${at} WHERE id = ${lit(id)} AND revoked_us IS NULL RETURNING id`);
      return r.getRows().length > 0;
    });
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    await this.reader.run('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.exclusive(() => this.compact()).catch(() => undefined);
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    for (const w of this.writers) w.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
  }
}

