import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { eventKey, type AppendOutcome, type EventRecord } from '../../events/event.ts';
import { meterSchema, type MeterDefinition } from '../../meters/meter.ts';
import { GroupCommitQueue } from '../../shared/group-commit.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { DerivedRows } from '../../usage/derive-rollups.ts';
import type { Resolution } from '../../usage/resolution.ts';
import type { AggregateQuery, AggregateRow, EventListQuery, KeyUse, RollupDeriver, StoredEvent, StoredKey, UniqueRow, UsageStore } from '../port.ts';
import { listEventsSql, toStoredEvent } from './event-list.ts';
import { aggregateSql } from './aggregate-sql.ts';
import { BloomFilter } from '../../shared/bloom.ts';
import { INGEST_INSERT, writeDerived, writeEvent, writeMark } from './rows.ts';
import { RowBinaryWriter } from '../../events/row-binary.ts';
import { ADDED_COLUMNS, ROLLUP_MERGE, ddl, legacyLayoutQuery } from './schema.ts';
import { lit, parseTsv, readBig, readScaled } from './sql.ts';

/** Meta key set once the database's rollups are keyed by series. */
const SERIES_LAYOUT = 'rollup_series_layout';

/** Connection and behaviour of the ClickHouse store. */
export interface ClickHouseStoreOptions {
  /** HTTP endpoint, e.g. http://127.0.0.1:8123. */
  url: string;
  /** Database (created if missing). */
  database: string;
  derive: RollupDeriver;
  nowMicros?: () => EpochMicros;
  /** Per-request timeout (default 60 s). */
  requestTimeoutMs?: number;
}

/** One event read from the stream, with its stream sequence. */
export interface SequencedEvent {
  record: EventRecord;
  seq: number;
}

/** What committing a stream batch wrote: the events that were new and their rollups. */
export interface CommittedBatch {
  fresh: EventRecord[];
  derived: DerivedRows;
}

/** A batch of one stream partition, committed with its watermark. */
export interface StreamBatch {
  part: number;
  /** Highest stream sequence of the batch: becomes the partition's watermark. */
  lastSeq: number;
  events: readonly SequencedEvent[];
}

const SCAN_PAGE = 10_000;
/** Long IN lists of (tenant, id) pairs exceed the default 256 KiB query size. */
const BIG_QUERY = { max_query_size: '104857600' } as const;

/**
 * The distributed profile's store on ClickHouse. Each write is ONE insert into the Null
 * `ingest` table (events + rollups + unique facts + watermark in one block). In one process
 * writes are serialised (dedupe lookups then see every earlier write); across processes the
 * pipeline gives each stream partition a single writer (docs/distributed.md).
 */
export class ClickHouseStore implements UsageStore {
  readonly engine = 'clickhouse';
  private readonly queue: GroupCommitQueue<EventRecord, AppendOutcome>;
  private closed = false;
  /**
   * Per stream partition: a Bloom filter of the keys it has committed. The partition's owner is
   * its only writer, so a key the filter has never seen is certainly new and needs no
   * ClickHouse lookup; dedupe cost per batch stays independent of the table size.
   */
  private readonly filters = new Map<number, BloomFilter>();

  private constructor(
    readonly client: ClickHouseClient,
    private readonly opts: ClickHouseStoreOptions,
  ) {
    this.queue = new GroupCommitQueue((events) => this.writeAppend(events), { maxItemsPerCommit: 20_000 });
  }

  /** Connects, creating the database and schema when missing. */
  static async open(opts: ClickHouseStoreOptions): Promise<ClickHouseStore> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.database)) throw new Error(`invalid ClickHouse database name "${opts.database}"`);
    const timeout = opts.requestTimeoutMs ?? 60_000;
    // Failures surface as rejected calls that the callers retry or report; the driver's own log would double them.
    const log = { level: ClickHouseLogLevel.OFF };
    const admin = createClient({ url: opts.url, request_timeout: timeout, log });
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database}` });
      const legacy = await (await admin.query({ query: legacyLayoutQuery(opts.database), format: 'TabSeparated' })).text();
      if (legacy.trim() !== '0') {
        throw new Error(`database ${opts.database} has the rollup layout of an earlier Tally (columns d1…d8, now one \`dims\` array): migrate it as docs/distributed.md says, or use a new database`);
      }
      for (const q of ddl(opts.database)) await admin.command({ query: q });
      await addMissingColumns(admin, opts.database);
    } finally {
      await admin.close();
    }
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: timeout, max_open_connections: 16, log });
    const store = new ClickHouseStore(client, opts);
    try {
      await store.checkSeriesLayout();
    } catch (err) {
      await client.close();
      throw err;
    }
    return store;
  }

  /**
   * Rollups are keyed by series (`Meter.series`): a database whose rollups an earlier Tally
   * keyed by meter slug would answer zero for shared series, so it is refused, never misread.
   */
  private async checkSeriesLayout(): Promise<void> {
    if ((await this.getMeta(SERIES_LAYOUT)) !== undefined) return;
    const [[rows] = ['0']] = await this.rows('SELECT count() FROM rollups');
    if (rows !== '0') {
      throw new Error(`database ${this.opts.database} holds rollups keyed by meter slug (an earlier Tally): rebuild them as docs/distributed.md says, or use a new database`);
    }
    await this.setMeta(SERIES_LAYOUT, '1');
  }

  private now(): number {
    return this.opts.nowMicros?.() ?? Date.now() * 1000;
  }

  /** Runs a read and returns TSV rows. */
  async rows(query: string, settings: Record<string, string> = {}): Promise<(string | null)[][]> {
    const rs = await this.client.query({ query, format: 'TabSeparated', clickhouse_settings: settings });
    return parseTsv(await rs.text());
  }

  append(events: readonly EventRecord[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.queue.submit(events);
  }

  private async writeAppend(events: readonly EventRecord[]): Promise<AppendOutcome[]> {
    const [written] = await this.writeGroups([{ events: events.map((record) => ({ record, seq: 0 })), part: -1 }], undefined);
    return written!.outcomes;
  }

  /**
   * Commits one stream batch: dedupes against stored events (first stored copy wins), then
   * writes the fresh events, their rollups and the partition watermark in one insert whose
   * query id is derived from (partition, lastSeq). Returns the events that were new.
   */
  async commitStream(batch: StreamBatch): Promise<CommittedBatch> {
    return (await this.commitStreams([batch]))[0]!;
  }

  /**
   * Commits batches of several partitions (at most one each) in ONE insert: every batch's fresh
   * events, rollups and watermark land together or not at all (one block), under the query id
   * `streamQueryId(batches)`. Fewer, larger inserts are what ClickHouse writes cheaply. Not
   * queued: each partition has a single writer (the pipeline's lease).
   */
  async commitStreams(batches: readonly StreamBatch[]): Promise<CommittedBatch[]> {
    const written = await this.writeGroups(batches, this.streamQueryId(batches));
    return written.map(({ fresh, derived }) => ({ fresh, derived }));
  }

  private async writeGroups(groups: readonly { events: readonly SequencedEvent[]; part: number; lastSeq?: number }[], queryId: string | undefined): Promise<{ outcomes: AppendOutcome[]; fresh: EventRecord[]; derived: DerivedRows }[]> {
    const streamed = groups.filter((g) => g.lastSeq !== undefined);
    const filters = new Map<number, BloomFilter>();
    for (const g of streamed) filters.set(g.part, await this.filterFor(g.part));
    // With the partition's key filter, only keys it may have seen are looked up (one query for all groups).
    const keys = groups.map((g) => g.events.map((e) => eventKey(e.record.tenant, e.record.id)));
    const candidates: EventRecord[] = [];
    let bytes = 0;
    groups.forEach((g, i) => {
      const filter = filters.get(g.part);
      g.events.forEach((e, j) => {
        if (!filter || filter.mightContain(keys[i]![j]!)) candidates.push(e.record);
        bytes += (e.record.wire?.length ?? 512) + 80;
      });
    });
    const existing = await this.existingHashes(candidates);
    const now = this.now();
    // Sized for the events and about as many rollup rows, so the body is rarely copied to grow.
    const w = new RowBinaryWriter(2 * bytes + 4096);
    const out = groups.map((g, i) => {
      const outcomes: AppendOutcome[] = new Array(g.events.length);
      const firstByKey = new Map<string, string>();
      const fresh: EventRecord[] = [];
      const freshKeys: string[] = [];
      g.events.forEach((e, j) => {
        const key = keys[i]![j]!;
        const stored = existing.get(key) ?? firstByKey.get(key);
        if (stored !== undefined) {
          outcomes[j] = { status: 'duplicate', conflict: stored !== e.record.contentHash };
          return;
        }
        firstByKey.set(key, e.record.contentHash);
        fresh.push(e.record);
        freshKeys.push(key);
        writeEvent(w, e.record, now, g.part, e.seq);
        outcomes[j] = { status: 'accepted' };
      });
      const derived = fresh.length > 0 ? this.opts.derive(fresh) : { rollups: [], uniques: [], skipped: 0 };
      writeDerived(w, derived);
      if (g.lastSeq !== undefined) writeMark(w, g.part, g.lastSeq, now);
      return { outcomes, fresh, derived, freshKeys };
    });
    try {
      if (w.length > 0) await this.insert(w.view(), queryId);
    } catch (err) {
      // The insert may still have landed: the filter must not miss its keys, so rebuild it from ClickHouse.
      for (const g of streamed) this.filters.delete(g.part);
      throw err;
    }
    for (const [i, g] of groups.entries()) {
      const filter = filters.get(g.part);
      if (filter) for (const key of out[i]!.freshKeys) filter.add(key);
    }
    return out;
  }

  /**
   * Forgets the partition's key filter: call when taking ownership of a partition (another
   * owner may have written it meanwhile). It is rebuilt from ClickHouse on the next commit.
   */
  resetPartition(part: number): void {
    this.filters.delete(part);
  }

  private async filterFor(part: number): Promise<BloomFilter> {
    const cur = this.filters.get(part);
    if (cur) return cur; // it grows as keys are added
    const rows = await this.rows(`SELECT tenant, id FROM events WHERE part = ${part} UNION ALL SELECT tenant, id FROM dedupe_ledger WHERE part = ${part}`);
    const filter = new BloomFilter(Math.max(100_000, rows.length * 2));
    for (const r of rows) filter.add(eventKey(r[0]!, r[1]!));
    this.filters.set(part, filter);
    return filter;
  }

  /** The query id of a stream batch's insert: a retry of an insert still running is refused by the server. */
  batchQueryId(part: number, lastSeq: number): string {
    return this.streamQueryId([{ part, lastSeq }]);
  }

  /** The query id of the insert of these batches (see `batchQueryId`). */
  streamQueryId(batches: readonly Pick<StreamBatch, 'part' | 'lastSeq'>[]): string {
    return `tally-${this.opts.database}-${batches.map((b) => `p${b.part}-s${b.lastSeq}`).join('-')}`;
  }

  private async insert(body: Buffer, queryId?: string): Promise<void> {
    const r = await this.client.exec({
      query: INGEST_INSERT,
      values: Readable.from([body]),
      ...(queryId ? { query_id: queryId } : {}),
      clickhouse_settings: { max_insert_block_size: '10000000', max_compress_block_size: '16384' },
    });
    r.stream.resume();
    await finished(r.stream);
  }

  private async existingHashes(events: readonly EventRecord[]): Promise<Map<string, string>> {
    if (events.length === 0) return new Map();
    const pairs = [...new Set(events.map((e) => `(${lit(e.tenant)}, ${lit(e.id)})`))];
    const inList = pairs.join(', ');
    // Raw rows, and the ids retention moved to the ledger (privacy/retention).
    const rows = await this.rows(`SELECT tenant, id, content_hash FROM events WHERE (tenant, id) IN (${inList}) UNION ALL SELECT tenant, id, content_hash FROM dedupe_ledger WHERE (tenant, id) IN (${inList})`, BIG_QUERY);
    return new Map(rows.map((r) => [eventKey(r[0]!, r[1]!), r[2]!]));
  }

  /** The partition's watermark: the highest stream sequence committed (0 when none). */
  async watermark(part: number): Promise<number> {
    const rows = await this.rows(`SELECT max(seq) FROM marks WHERE part = ${part}`);
    return Number(rows[0]?.[0] ?? 0);
  }

  /** True while a query with this id runs on the server (used after an ambiguous insert failure). */
  async isRunning(queryId: string): Promise<boolean> {
    const rows = await this.rows(`SELECT count() FROM system.processes WHERE query_id = ${lit(queryId)}`);
    return rows[0]?.[0] !== '0';
  }

  /**
   * Stored events of a partition with stream sequence in (afterSeq, upToSeq], in sequence order,
   * in pages that never split a sequence (the events of one log message share it).
   */
  async *eventsOfPartition(part: number, afterSeq: number, upToSeq: number): AsyncIterable<{ record: EventRecord; seq: number }[]> {
    const cols = 'tenant, id, type, source, time_us, actor, data, content_hash, seq';
    let after = afterSeq;
    for (;;) {
      const rows = await this.rows(`SELECT ${cols} FROM events WHERE part = ${part} AND seq > ${after} AND seq <= ${upToSeq} ORDER BY seq LIMIT ${SCAN_PAGE}`);
      if (rows.length === 0) return;
      let page = rows.map((r) => ({ record: toRecord(r), seq: Number(r[8]) }));
      const full = rows.length === SCAN_PAGE;
      if (full) {
        const lastSeq = page[page.length - 1]!.seq;
        const cut = page.findIndex((p) => p.seq === lastSeq);
        // The last sequence may go on past the page: leave it to the next page, or read it whole.
        page = cut > 0 ? page.slice(0, cut) : (await this.rows(`SELECT ${cols} FROM events WHERE part = ${part} AND seq = ${lastSeq}`)).map((r) => ({ record: toRecord(r), seq: lastSeq }));
      }
      yield page;
      after = page[page.length - 1]!.seq;
      if (!full) return;
    }
  }

  createMeter(def: MeterDefinition, derive: RollupDeriver, onCommitted: () => void): Promise<{ backfilled: number; skipped: number }> {
    return this.queue.exclusive(async () => {
      let backfilled = 0;
      let skipped = 0;
      const derived: DerivedRows[] = [];
      for await (const page of this.scanEvents(def.eventType, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
        const d = derive(page);
        backfilled += page.length - d.skipped;
        skipped += d.skipped;
        derived.push(d);
      }
      await this.client.command({ query: `INSERT INTO meters VALUES (${lit(def.slug)}, ${lit(JSON.stringify(def))}, ${this.now()})` });
      const w = new RowBinaryWriter();
      for (const d of derived) writeDerived(w, d);
      if (w.length > 0) await this.insert(w.view());
      onCommitted();
      return { backfilled, skipped };
    });
  }

  async listMeters(): Promise<MeterDefinition[]> {
    const rows = await this.rows('SELECT definition FROM meters ORDER BY slug, created_us LIMIT 1 BY slug');
    return rows.map((r) => meterSchema.parse(JSON.parse(r[0]!)));
  }

  async aggregate(q: AggregateQuery, res: Resolution): Promise<AggregateRow[]> {
    const rows = await this.rows(aggregateSql(q, 'rollups', 'bucket_us', [`res = ${lit(res)}`], ROLLUP_MERGE));
    const k = 2 + q.groupDims.length;
    return rows.map((r) => {
      const latestValue = readScaled(r[k + 4]!);
      return {
        window: Number(r[0]),
        tenant: r[1]!,
        dims: r.slice(2, k),
        components: {
          count: readBig(r[k]!),
          sum: readScaled(r[k + 1]!),
          min: readScaled(r[k + 2]!),
          max: readScaled(r[k + 3]!),
          latest: latestValue === null ? null : { value: latestValue, time: Number(r[k + 5]), id: r[k + 6]! },
        },
      };
    });
  }

  async countUnique(q: AggregateQuery): Promise<UniqueRow[]> {
    const rows = await this.rows(aggregateSql(q, 'unique_facts', 'time_us', [], ['uniqExact(value)']));
    const k = 2 + q.groupDims.length;
    return rows.map((r) => ({ window: Number(r[0]), tenant: r[1]!, dims: r.slice(2, k), count: readBig(r[k]!) }));
  }

  async listEvents(q: EventListQuery): Promise<StoredEvent[]> {
    return (await this.rows(listEventsSql(q))).map(toStoredEvent);
  }

  async *scanEvents(type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
    let after: [number, string, string] | undefined;
    for (;;) {
      const where = [`type = ${lit(type)}`, `time_us >= ${from}`, `time_us < ${to}`];
      if (tenants) where.push(`tenant IN (${tenants.map(lit).join(', ')})`);
      if (after) {
        const [t, tn, id] = after;
        where.push(`(time_us > ${t} OR (time_us = ${t} AND (tenant > ${lit(tn)} OR (tenant = ${lit(tn)} AND id > ${lit(id)}))))`);
      }
      const rows = await this.rows(
        `SELECT tenant, id, type, source, time_us, actor, data, content_hash FROM events WHERE ${where.join(' AND ')} ORDER BY time_us, tenant, id LIMIT ${SCAN_PAGE}`,
      );
      if (rows.length === 0) return;
      const page = rows.map(toRecord);
      yield page;
      const last = page[page.length - 1]!;
      after = [last.time, last.tenant, last.id];
      if (rows.length < SCAN_PAGE) return;
    }
  }

  async countEvents(): Promise<bigint> {
    return readBig((await this.rows('SELECT count() FROM events'))[0]![0]!);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.rows(`SELECT argMax(value, ver), count() FROM meta WHERE key = ${lit(key)}`);
    return rows[0]?.[1] === '0' ? undefined : (rows[0]?.[0] ?? undefined);
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.client.command({ query: `INSERT INTO meta VALUES (${lit(key)}, ${lit(value)}, ${this.now()})` });
  }

  async putKey(k: StoredKey): Promise<void> {
    await this.writeKey(k, 0);
  }

  private async writeKey(k: StoredKey, ver: number): Promise<void> {
    const tenant = k.tenant === null ? 'NULL' : lit(k.tenant);
    const meters = k.allowedMeters == null ? 'NULL' : lit(JSON.stringify(k.allowedMeters));
    await this.client.command({
      query: `INSERT INTO api_keys (id, name, hash, scopes, tenant, created_us, revoked_us, ver, expires_us, allowed_meters) VALUES (${lit(k.id)}, ${lit(k.name)}, ${lit(k.hash)}, ${lit(k.scopes.join(','))}, ${tenant}, ${k.createdAt}, ${k.revokedAt ?? 'NULL'}, ${ver}, ${k.expiresAt ?? 'NULL'}, ${meters})`,
    });
  }

  private async readKeys(where = ''): Promise<(StoredKey & { ver: number })[]> {
    const rows = await this.rows(
      `SELECT id, name, hash, scopes, tenant, created_us, revoked_us, ver, expires_us, allowed_meters FROM api_keys ${where} ORDER BY id, ver DESC LIMIT 1 BY id`,
    );
    return rows.map((r) => ({
      id: r[0]!,
      name: r[1]!,
      hash: r[2]!,
      scopes: r[3]!.split(',').filter(Boolean),
      tenant: r[4]!,
      createdAt: Number(r[5]),
      revokedAt: r[6] === null ? null : Number(r[6]),
      ver: Number(r[7]),
      expiresAt: r[8] === null || r[8] === undefined ? null : Number(r[8]),
      allowedMeters: r[9] === null || r[9] === undefined ? null : (JSON.parse(r[9]) as string[]),
    }));
  }

  async listKeys(): Promise<StoredKey[]> {
    const keys = await this.readKeys();
    const used = new Map((await this.rows('SELECT id, max(last_used_us) FROM api_key_uses GROUP BY id')).map((r) => [r[0]!, Number(r[1])]));
    return keys.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map(({ ver: _ver, ...k }) => ({ ...k, lastUsedAt: used.get(k.id) ?? null }));
  }

  async touchKeys(uses: readonly KeyUse[]): Promise<void> {
    if (uses.length === 0) return;
    await this.client.command({ query: `INSERT INTO api_key_uses (id, last_used_us) VALUES ${uses.map((u) => `(${lit(u.id)}, ${u.at})`).join(', ')}` });
  }

  revokeKey(id: string, at: EpochMicros): Promise<boolean> {
    return this.queue.exclusive(async () => {
      const [k] = await this.readKeys(`WHERE id = ${lit(id)}`);
      if (!k || k.revokedAt !== null) return false;
      const { ver, ...key } = k;
      await this.writeKey({ ...key, revokedAt: at }, ver + 1);
      return true;
    });
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    await this.client.command({ query: 'SELECT 1' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain().catch(() => undefined);
    await this.client.close();
  }
}

/**
 * Adds the columns of ADDED_COLUMNS a database created before them lacks. Nodes starting
 * together may race to add one: a failed ALTER is fine when the column is there afterwards.
 */
async function addMissingColumns(admin: ClickHouseClient, database: string): Promise<void> {
  const present = async () => new Set((await (await admin.query({ query: `SELECT concat(table, '.', name) FROM system.columns WHERE database = ${lit(database)}`, format: 'TabSeparated' })).text()).split('\n'));
  const have = await present();
  for (const [table, column, type] of ADDED_COLUMNS) {
    if (have.has(`${table}.${column}`)) continue;
    try {
      await admin.command({ query: `ALTER TABLE ${database}.${table} ADD COLUMN ${column} ${type}` });
    } catch (err) {
      if (!(await present()).has(`${table}.${column}`)) throw err;
    }
  }
}

function toRecord(r: (string | null)[]): EventRecord {
  const dataJson = r[6]!;
  return { tenant: r[0]!, id: r[1]!, type: r[2]!, source: r[3]!, time: Number(r[4]), actor: r[5]!, data: JSON.parse(dataJson) as Record<string, unknown>, dataJson, contentHash: r[7]! };
}
