import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBListValue } from '@duckdb/node-api';
import { eventKey, type AppendOutcome, type EventRecord } from '../../events/event.ts';
import { compileMeter, meterSchema, type Aggregation, type MeterDefinition } from '../../meters/meter.ts';
import { BloomFilter } from '../../shared/bloom.ts';
import { GroupCommitQueue } from '../../shared/group-commit.ts';
import type { EpochMicros } from '../../shared/time.ts';
import { merge, type Components } from '../../usage/components.ts';
import { RESOLUTION_MICROS, type Resolution } from '../../usage/resolution.ts';
import type { AggregateQuery, AggregateRow, EventListQuery, KeyUse, RollupDeriver, StoredEvent, StoredKey, UniqueRow, UsageStore } from '../port.ts';
import { listEvents } from './event-list.ts';
import { aggregateSql } from './aggregate-sql.ts';
import { ALL_FACTS, DDL, FACT_TABLES, PENDING_TABLES, DIM_COLUMNS, QUANTITY_TYPE, SPLIT_DELTAS, ROLLUP_COLUMNS, ROLLUP_MERGE, ROLLUP_TABLES, SETTINGS, STAGING_DDL, TOTAL_KEY, deltasAt, rollupTable, rollupsAt } from './schema.ts';
import { DEFAULT_DAY_TOTALS, DayTotals, type DayTotalRow, type DayTotalsOptions } from './day-totals.ts';
import { RollupLane, WATERMARK } from './rollup-lane.ts';
import { appendDerived, appendEvents, inTransaction, storedHashes } from './rows.ts';
import { int, readBig, readScaled, SqlParams } from './sql.ts';

/** Options of the embedded store. */
export interface DuckDbStoreOptions {
  /** Database file, or ':memory:'. */
  path: string;
  /** Derives rollups for appended events from the live meter set. */
  derive: RollupDeriver;
  /** Clock for `ingested_us`. */
  nowMicros?: () => EpochMicros;
  /**
   * Replay events above the rollup watermark at open (default true). The server passes
   * false and calls `recover()` once its meters are registered, because replay derives
   * rollups with the live meter set.
   */
  recoverOnOpen?: boolean;
  /**
   * The in-memory hot tier of per-tenant day totals (`DayTotals`); `false` answers every
   * query with SQL (tests compare both paths).
   */
  dayTotals?: DayTotalsOptions | false;
  /** DuckDB's `memory_limit` (e.g. '1GB'); DuckDB's own default (80 % of RAM) when absent. */
  memoryLimit?: string;
  /** DuckDB's worker threads; one per core when absent. */
  threads?: number;
}

const SCAN_PAGE = 10_000;

/** Meta key set once rollups are keyed by series (`Meter.series`) rather than by meter slug. */
const SERIES_LAYOUT = 'rollup_series_layout';

/**
 * The embedded store on one DuckDB file.
 *
 * Ingest commits hold only raw events (the `events` primary key is the dedupe ledger), each
 * with a sequence number; two writer connections overlap one group's work with the previous
 * group's commit, and commits happen in order. Rollups come from an in-process aggregator
 * (`RollupLane`) flushed with a committed watermark: rows and watermark in one
 * transaction, replay above the watermark after a crash. Queries flush first, so answers
 * always include every acknowledged event, exactly once.
 */
export class DuckDbStore implements UsageStore {
  readonly engine = 'duckdb';
  private readonly queue: GroupCommitQueue<EventRecord, AppendOutcome>;
  private closed = false;
  /** Every stored (tenant, id): lets a new id skip the ledger lookup. */
  private readonly seen = new BloomFilter();
  /** (tenant, id) → content hash of events in groups not yet committed. */
  private readonly inflight = new Map<string, string>();
  /** The last commit's failure, until a later commit succeeds (`/readyz` reports it). */
  private commitFailure: { at: number; message: string } | undefined;
  /** Resolves true when the latest started group committed (false if it failed). */
  private lastCommit: Promise<boolean> = Promise.resolve(true);
  private nextSeq = 1;
  private readonly recovered: Promise<void>;
  private markRecovered!: () => void;
  /** Rollup flushes and compactions, on their own connection beside ingest. */
  private readonly rollups: RollupLane;
  /** Per-tenant day totals of the recent days, in memory (undefined when turned off). */
  private readonly dayTotals: DayTotals | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writers: DuckDBConnection[],
    rollupConn: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly opts: DuckDbStoreOptions,
    pendingRows: number,
  ) {
    this.queue = new GroupCommitQueue((events, slot) => this.writeBatch(events, slot), { slots: writers.length });
    this.recovered = new Promise((r) => (this.markRecovered = r));
    const now = () => opts.nowMicros?.() ?? Date.now() * 1000;
    this.dayTotals = opts.dayTotals === false ? undefined : new DayTotals(opts.dayTotals ?? DEFAULT_DAY_TOTALS, now);
    const dayTotals = this.dayTotals;
    this.rollups = new RollupLane(rollupConn, pendingRows, this.recovered, dayTotals && ((rows) => dayTotals.fold(rows)));
  }

  /** Opens (creating if needed) the database file and its schema. */
  static async open(opts: DuckDbStoreOptions): Promise<DuckDbStore> {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    // Set at creation (not by SQL): the limit holds from the first allocation on.
    const config: Record<string, string> = {};
    if (opts.memoryLimit !== undefined) config.memory_limit = opts.memoryLimit;
    if (opts.threads !== undefined) config.threads = String(opts.threads);
    const instance = await DuckDBInstance.create(opts.path, config);
    const writers = [await instance.connect(), await instance.connect()];
    const writer = writers[0]!;
    for (const sql of [...SETTINGS, ...DDL]) await writer.run(sql);
    for (const w of writers) for (const ddl of STAGING_DDL) await w.run(ddl);
    const reader = await instance.connect();
    // Deltas written before they dropped their dimension columns: the values are in dim_key too.
    for (const d of DIM_COLUMNS) await writer.run(`ALTER TABLE rollup_deltas DROP COLUMN IF EXISTS ${d}`);
    // Deltas of the one-table layout (with `res` and the latest columns) split into the two tables.
    // The move needs all three latest columns; the drops run while any old column is left (a
    // crash between drops leaves some, and their values were moved already).
    const deltaColumns = new Set((await writer.runAndReadAll("SELECT column_name FROM information_schema.columns WHERE table_name = 'rollup_deltas'")).getRows().map((r) => r[0] as string));
    if (SPLIT_DELTAS.moveNeeds.every((c) => deltaColumns.has(c))) {
      await inTransaction(writer, async () => {
        for (const sql of SPLIT_DELTAS.move) await writer.run(sql);
      });
    }
    if (SPLIT_DELTAS.dropped.some((c) => deltaColumns.has(c))) {
      for (const c of SPLIT_DELTAS.dropped) await writer.run(`ALTER TABLE rollup_deltas DROP COLUMN IF EXISTS ${c}`);
    }
    const pendingRows = Number(readBig((await writer.runAndReadAll(`SELECT ${PENDING_TABLES.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')}`)).getRows()[0]![0]));
    const store = new DuckDbStore(instance, writers, await instance.connect(), reader, opts, pendingRows);
    const legacy = readBig((await writer.runAndReadAll("SELECT count(*) FROM information_schema.tables WHERE table_name = 'rollups'")).getRows()[0]![0]) > 0n;
    const oldTotals = readBig((await writer.runAndReadAll(`SELECT count(*) FROM rollups_day WHERE dim_key = '${TOTAL_KEY}'`)).getRows()[0]![0]) > 0n;
    const quantityType = (await writer.runAndReadAll("SELECT data_type FROM information_schema.columns WHERE table_name = 'rollup_deltas' AND column_name = 'sum'")).getRows()[0]![0];
    const decimalQuantities = quantityType !== QUANTITY_TYPE;
    // Rollups keyed by meter slug (before series were shared) are rebuilt keyed by series.
    const slugKeyed = (await store.getMeta(SERIES_LAYOUT)) === undefined && (await store.countEvents()) > 0n;
    if (legacy || oldTotals || decimalQuantities || slugKeyed) {
      // A store from an earlier rollup layout: rebuild every rollup from the raw events.
      const tables = [...ROLLUP_TABLES, ...FACT_TABLES];
      // Dropped, not emptied: they are re-created in today's layout (a very old store's columns differ).
      const resets = ['DROP TABLE IF EXISTS rollups', ...tables.map((t) => `DROP TABLE IF EXISTS ${t}`)];
      for (const sql of [...resets, ...DDL, `INSERT OR REPLACE INTO meta VALUES ('${WATERMARK}', '-1')`]) await writer.run(sql);
    }
    await writer.run(`INSERT OR REPLACE INTO meta VALUES ('${SERIES_LAYOUT}', '1')`);
    await store.loadDayTotals(writer);
    store.nextSeq = Number(readBig((await writer.runAndReadAll('SELECT coalesce(max(seq), 0) FROM events')).getRows()[0]![0])) + 1;
    const keys = await writer.stream('SELECT tenant, id FROM events UNION ALL SELECT tenant, id FROM dedupe_ledger');
    for (let chunk = await keys.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await keys.fetchChunk()) {
      const [tenants, ids] = chunk.getColumns() as [string[], string[]];
      for (let i = 0; i < tenants.length; i++) store.seen.add(eventKey(tenants[i]!, ids[i]!));
    }
    if (opts.recoverOnOpen !== false) await store.recover();
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
    // Whether a duplicate decision rests on the group ahead's uncommitted events: only then
    // does that group's failure make this group's receipts wrong.
    let leansOnAhead = false;
    events.forEach((e, i) => {
      const key = eventKey(e.tenant, e.id);
      let earlier = mine.get(key)?.contentHash;
      if (earlier === undefined) {
        earlier = this.inflight.get(key);
        if (earlier !== undefined) leansOnAhead = true;
      }
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
        const firstSeq = this.nextSeq;
        this.nextSeq += fresh.length;
        await conn.run('BEGIN TRANSACTION');
        try {
          await appendEvents(conn, fresh, this.opts.nowMicros?.() ?? Date.now() * 1000, firstSeq);
          // Commits stay in order; a failed group ahead fails this one only if it leaned on it.
          if (!(await ahead) && leansOnAhead) throw new Error('the batch ahead of this one failed to commit; this batch was rolled back');
          await conn.run('COMMIT');
        } catch (err) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
        // In commit order (the next group commits only after this one settles).
        this.rollups.add(this.opts.derive(fresh, this.rollups.accumulator), firstSeq + fresh.length - 1);
      } else if (!(await ahead) && leansOnAhead) throw new Error('the batch ahead of this one failed to commit; this batch was not acknowledged');
      for (const e of fresh) this.seen.add(eventKey(e.tenant, e.id));
      ok = true;
    } catch (err) {
      this.commitFailure = { at: Date.now(), message: (err as Error).message };
      throw err;
    } finally {
      if (ok) this.commitFailure = undefined;
      for (const c of candidates) this.inflight.delete(c.key);
      settle(ok);
    }
    if (!this.closed) await this.rollups.afterCommit();
    return outcomes;
  }

  /**
   * Replays committed events above the rollup watermark into the aggregator and flushes:
   * after a crash the rollups catch up exactly. Writes and flushes wait for it.
   */
  async recover(): Promise<void> {
    const watermark = Number((await this.getMeta(WATERMARK)) ?? '0');
    let after = watermark;
    for (;;) {
      const rows = (await this.writer.runAndReadAll(`SELECT ${EVENT_COLUMNS}, seq FROM events WHERE seq > ${after} ORDER BY seq LIMIT ${SCAN_PAGE}`)).getRows();
      if (rows.length === 0) break;
      const page = rows.map(toEvent);
      after = Number(rows[rows.length - 1]![8]);
      this.rollups.add(this.opts.derive(page, this.rollups.accumulator), after);
      await this.rollups.flushIfLarge();
    }
    this.markRecovered();
    await this.rollups.flushNow();
  }

  private get writer(): DuckDBConnection {
    return this.writers[0]!;
  }

  /**
   * Runs `fn` on the writer connection with ingest commits, rollup flushes and compactions
   * held back, after flushing and compacting pending rollups (so they are in the tables `fn`
   * changes): the retention job deletes and erasure rewrites stored rows under it. Keep `fn`
   * short: ingest waits for it.
   */
  async exclusiveWrite<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    await this.rollups.flushNow();
    return this.queue.exclusive(async () => {
      await this.rollups.compactNow();
      return this.rollups.run(() => fn(this.writer));
    });
  }

  /** The file's size and the bytes its used blocks hold (DuckDB reuses freed blocks; the file does not shrink). */
  async diskUsage(): Promise<{ fileBytes: number; usedBytes: number }> {
    const [r] = (await this.reader.runAndReadAll('PRAGMA database_size')).getRowObjects();
    const usedBytes = Number(r!.used_blocks) * Number(r!.block_size);
    const fileBytes = this.opts.path === ':memory:' ? usedBytes : statSync(this.opts.path).size;
    return { fileBytes, usedBytes };
  }

  /** Compacts now (tests and benchmarks use it to measure the steady state). */
  compactNow(): Promise<void> {
    return this.rollups.compactNow();
  }

  private readable(): Promise<void> {
    return this.rollups.readable();
  }

  createMeter(def: MeterDefinition, derive: RollupDeriver, onCommitted: () => void): Promise<{ backfilled: number; skipped: number }> {
    return this.queue.exclusive(async () => {
      let backfilled = 0;
      let skipped = 0;
      // Everything committed so far reaches the rollups first, so the backfill (all stored
      // events, for the new meter only) and later replays never overlap.
      await this.rollups.flushNow();
      let pendingRows = 0;
      await inTransaction(this.writer, async () => {
        await this.writer.run('INSERT INTO meters VALUES ($1, $2, $3)', [def.slug, JSON.stringify(def), BigInt(Date.now() * 1000)]);
        for await (const page of this.scanWith(this.writer, def.eventType, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
          const derived = derive(page);
          backfilled += page.length - derived.skipped;
          skipped += derived.skipped;
          pendingRows += await appendDerived(this.writer, derived);
        }
      });
      this.rollups.addPendingRows(pendingRows);
      // A backfilled series' cells come from the tables (no other meter reads it, so no query
      // sees it half loaded); a series the meter shares is in memory already and untouched. (A
      // UNIQUE_COUNT meter's rows are facts: its series has no cells, reloading it is a no-op.)
      if (pendingRows > 0) {
        const series = compileMeter(def).series;
        this.dayTotals?.drop(series);
        await this.loadDayTotals(this.writer, series);
      }
      onCommitted();
      return { backfilled, skipped };
    });
  }

  async listMeters(): Promise<MeterDefinition[]> {
    const rows = (await this.reader.runAndReadAll('SELECT definition FROM meters ORDER BY slug')).getRows();
    return rows.map((r) => meterSchema.parse(JSON.parse(r[0] as string)));
  }

  /** Cells the in-memory day totals hold (0 when turned off or switched off by their bound). */
  get dayTotalsCells(): number {
    return this.dayTotals?.size ?? 0;
  }

  /**
   * Loads the day totals of the days the hot tier keeps from the rollup tables (compacted rows
   * and pending deltas), for every meter or one (after its backfill committed).
   */
  private async loadDayTotals(conn: DuckDBConnection, meter?: string): Promise<void> {
    const tier = this.dayTotals;
    if (!tier) return;
    const params = new SqlParams();
    const where = [`bucket_us >= ${int(tier.firstDay)}`, ...(meter === undefined ? [] : [`meter = ${params.add(meter)}`])];
    const reader = await conn.stream(`SELECT meter, tenant, bucket_us, ${ROLLUP_COLUMNS.join(', ')} FROM ${rollupsAt('day', true)} WHERE ${where.join(' AND ')}`, params.values);
    for (let chunk = await reader.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await reader.fetchChunk()) {
      const rows: DayTotalRow[] = chunk.getRows().map((r) => ({ meter: r[0] as string, tenant: r[1] as string, day: Number(r[2]), components: componentsOf(r, 3) }));
      tier.load(rows);
    }
  }

  async aggregate(q: AggregateQuery, res: Resolution): Promise<AggregateRow[]> {
    await this.readable();
    if (this.dayTotals?.serves(q, res)) return this.dayTotals.answer(q);
    const need = neededMeasures(q.aggregation);
    const totals = q.groupDims.length === 0 && q.filters.length === 0;
    const measures = need.map((i, k) => `${ROLLUP_MERGE[i]!} AS m${k}`);
    // Per-tenant totals in windows of exactly one stored bucket each (daily usage per tenant
    // from day rows): a compacted row already is an answer cell, so only the pending deltas
    // are grouped; a cell present in both comes back twice and is merged while reading.
    const cellPerRow = totals && q.groupByTenant && res !== 'minute' && q.windows.kind === 'uniform' && q.windows.width === RESOLUTION_MICROS[res] && q.windows.origin % q.windows.width === 0;
    const params = new SqlParams();
    const inner = cellPerRow
      ? `${aggregateSql(q, params, rollupTable(res, true), 'bucket_us', [], need.map((i, k) => `${ROLLUP_COLUMNS[i]!} AS m${k}`), false)} UNION ALL ${aggregateSql(q, params, `(${deltasAt(res, true)})`, 'bucket_us', [], measures)}`
      : aggregateSql(q, params, rollupsAt(res, totals), 'bucket_us', [], measures);
    // One result row per (tenant, dimensions) with the windows and measures as lists: the
    // keys' strings are converted once per group instead of once per cell (most of the cost
    // of reading 30,000 cells into JS).
    const keys = ['tenant', ...q.groupDims.map((_, i) => `g${i}`)];
    const lists = ['w', ...need.map((_, k) => `m${k}`)].map((c) => `list(${c})`);
    const cols = (await this.reader.runAndReadAll(`SELECT ${[...keys, ...lists].join(', ')} FROM (${inner}) GROUP BY ${keys.join(', ')}`, params.values)).getColumns();
    const k = keys.length;
    const item = (i: number) => (need.includes(i) ? k + 1 + need.indexOf(i) : -1);
    const [cnt, sum, min, max, lv, lus, lid] = [0, 1, 2, 3, 4, 5, 6].map(item) as [number, number, number, number, number, number, number];
    const out: AggregateRow[] = [];
    const groups = cols[0]?.length ?? 0;
    // cellPerRow: where each window's row of the current group went (a second one is merged in).
    const windowCount = q.windows.kind === 'uniform' ? q.windows.count : 0;
    const seenIn = cellPerRow ? new Int32Array(windowCount) : undefined;
    const seenAt = cellPerRow ? new Int32Array(windowCount) : undefined;
    for (let g = 0; g < groups; g++) {
      const tenant = cols[0]![g] as string | null;
      const dims = k === 1 ? [] : cols.slice(1, k).map((c) => c[g] as string | null);
      const list = (c: number) => (c < 0 ? undefined : (cols[c]![g] as DuckDBListValue).items);
      const [ws, cs, ss, mins, maxs, lvs, luss, lids] = [k, cnt, sum, min, max, lv, lus, lid].map(list) as (unknown[] | undefined)[];
      for (let j = 0; j < ws!.length; j++) {
        const window = ws![j] as number;
        const latestValue = lvs ? readScaled(lvs[j]) : null;
        const components = {
          count: readBig(cs![j]),
          sum: ss ? readScaled(ss[j]) : null,
          min: mins ? readScaled(mins[j]) : null,
          max: maxs ? readScaled(maxs[j]) : null,
          latest: latestValue === null ? null : { value: latestValue, time: Number(luss![j]), id: lids![j] as string },
        };
        if (seenIn && seenAt) {
          if (seenIn[window] === g + 1) {
            merge(out[seenAt[window]!]!.components, components);
            continue;
          }
          seenIn[window] = g + 1;
          seenAt[window] = out.length;
        }
        out.push({ window, tenant, dims, components });
      }
    }
    return out;
  }

  async countUnique(q: AggregateQuery): Promise<UniqueRow[]> {
    await this.readable();
    const params = new SqlParams();
    const sql = aggregateSql(q, params, ALL_FACTS, 'bucket_us', [], ['count(DISTINCT t.value)']);
    const rows = (await this.reader.runAndReadAll(sql, params.values)).getRows();
    const k = 2 + q.groupDims.length;
    return rows.map((r) => ({ window: Number(r[0]), tenant: r[1] as string | null, dims: r.slice(2, k) as (string | null)[], count: readBig(r[k]) }));
  }

  scanEvents(type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
    return this.scanWith(this.reader, type, from, to, tenants);
  }

  private async *scanWith(conn: DuckDBConnection, type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
    let after: [number, string, string] | undefined;
    for (;;) {
      const params = new SqlParams();
      const where = [`type = ${params.add(type)}`, `time_us >= ${int(from)}`, `time_us < ${int(to)}`];
      if (tenants) where.push(params.in('tenant', tenants));
      if (after) where.push(`(time_us, tenant, id) > (${int(after[0])}, ${params.add(after[1])}, ${params.add(after[2])})`);
      const rows = (await conn.runAndReadAll(`SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY time_us, tenant, id LIMIT ${SCAN_PAGE}`, params.values)).getRows();
      if (rows.length === 0) return;
      const page = rows.map(toEvent);
      yield page;
      const last = page[page.length - 1]!;
      after = [last.time, last.tenant, last.id];
      if (rows.length < SCAN_PAGE) return;
    }
  }

  async listEvents(q: EventListQuery): Promise<StoredEvent[]> {
    await this.readable();
    return listEvents(this.reader, q);
  }

  async countEvents(): Promise<bigint> {
    const rows = (await this.reader.runAndReadAll('SELECT count(*) FROM events')).getRows();
    return readBig(rows[0]![0]);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = (await this.reader.runAndReadAll('SELECT value FROM meta WHERE key = $1', [key])).getRows();
    return rows[0]?.[0] as string | undefined;
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.queue.exclusive(async () => {
      await this.writer.run('INSERT OR REPLACE INTO meta VALUES ($1, $2)', [key, value]);
    });
  }

  putKey(k: StoredKey): Promise<void> {
    return this.queue.exclusive(async () => {
      await this.writer.run('INSERT INTO api_keys (id, name, hash, scopes, tenant, created_us, revoked_us, expires_us, allowed_meters) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
        k.id,
        k.name,
        k.hash,
        k.scopes.join(','),
        k.tenant,
        BigInt(k.createdAt),
        k.revokedAt === null ? null : BigInt(k.revokedAt),
        k.expiresAt == null ? null : BigInt(k.expiresAt),
        k.allowedMeters == null ? null : JSON.stringify(k.allowedMeters),
      ]);
    });
  }

  async listKeys(): Promise<StoredKey[]> {
    const rows = (await this.reader.runAndReadAll('SELECT id, name, hash, scopes, tenant, created_us, revoked_us, expires_us, allowed_meters, last_used_us FROM api_keys ORDER BY created_us, id')).getRows();
    return rows.map((r) => ({
      id: r[0] as string,
      name: r[1] as string,
      hash: r[2] as string,
      scopes: (r[3] as string).split(',').filter(Boolean),
      tenant: r[4] as string | null,
      createdAt: Number(r[5]),
      revokedAt: r[6] === null ? null : Number(r[6]),
      expiresAt: r[7] === null ? null : Number(r[7]),
      allowedMeters: r[8] === null ? null : (JSON.parse(r[8] as string) as string[]),
      lastUsedAt: r[9] === null ? null : Number(r[9]),
    }));
  }

  touchKeys(uses: readonly KeyUse[]): Promise<void> {
    if (uses.length === 0) return Promise.resolve();
    return this.queue.exclusive(async () => {
      for (const u of uses) await this.writer.run('UPDATE api_keys SET last_used_us = greatest(coalesce(last_used_us, 0), $1) WHERE id = $2', [BigInt(u.at), u.id]);
    });
  }

  revokeKey(id: string, at: EpochMicros): Promise<boolean> {
    return this.queue.exclusive(async () => {
      const r = await this.writer.runAndReadAll('UPDATE api_keys SET revoked_us = $1 WHERE id = $2 AND revoked_us IS NULL RETURNING id', [BigInt(at), id]);
      return r.getRows().length > 0;
    });
  }

  /**
   * Reads; and after a failed commit, writes a probe row in a transaction of its own: ready
   * means able to commit now, and a node that recovered does not wait for traffic (which a
   * load balancer would withhold from an unready node) to say so.
   */
  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    await this.reader.run('SELECT 1');
    const failure = this.commitFailure;
    if (failure === undefined) return;
    try {
      await this.setMeta('readiness_probe', String(Date.now()));
    } catch (err) {
      throw new Error(`the last commit failed (${failure.message}) and a probe write fails too: ${(err as Error).message}`);
    }
    if (this.commitFailure === failure) this.commitFailure = undefined;
  }

  /**
   * A connection of its own on the same database file, for a domain's repository (job runs,
   * invoices): its tables live beside the events but outside this port. Close it before the store.
   */
  connect(): Promise<DuckDBConnection> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.instance.connect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain().catch(() => undefined);
    await this.rollups.compactNow().catch(() => undefined);
    await this.writer.run('CHECKPOINT').catch(() => undefined);
    for (const w of this.writers) w.closeSync();
    this.rollups.close();
    this.reader.closeSync();
    this.instance.closeSync();
  }
}

const EVENT_COLUMNS = 'tenant, id, type, source, time_us, actor, data, content_hash';

/** An `events` row (columns as EVENT_COLUMNS) back into an EventRecord. */
function toEvent(r: unknown[]): EventRecord {
  const dataJson = r[6] as string;
  return { tenant: r[0] as string, id: r[1] as string, type: r[2] as string, source: r[3] as string, time: Number(r[4]), actor: r[5] as string | null, data: JSON.parse(dataJson) as Record<string, unknown>, dataJson, contentHash: r[7] as string };
}

/** Components from a row's columns `at`… in the order of ROLLUP_COLUMNS. */
function componentsOf(r: unknown[], at: number): Components {
  const latestValue = readScaled(r[at + 4]);
  return {
    count: readBig(r[at]),
    sum: readScaled(r[at + 1]),
    min: readScaled(r[at + 2]),
    max: readScaled(r[at + 3]),
    latest: latestValue === null ? null : { value: latestValue, time: Number(r[at + 5]), id: r[at + 6] as string },
  };
}

/** Indexes into ROLLUP_MERGE of the components an aggregation reads (all when unknown). */
function neededMeasures(aggregation: Aggregation | undefined): number[] {
  switch (aggregation) {
    case 'COUNT':
    case 'UNIQUE_COUNT':
      return [0];
    case 'SUM':
    case 'AVG':
      return [0, 1];
    case 'MIN':
      return [0, 2];
    case 'MAX':
      return [0, 3];
    case 'LATEST':
      return [0, 4, 5, 6];
    default:
      return [0, 1, 2, 3, 4, 5, 6];
  }
}
