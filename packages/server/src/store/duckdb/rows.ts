import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { eventKey, type EventRecord } from '../../events/event.ts';
import { MICROS_PER_MINUTE } from '../../shared/time.ts';
import type { DerivedRows } from '../../usage/derive-rollups.ts';

/** Appends raw events with consecutive sequence numbers (the `events` primary key is the dedupe ledger). */
export async function appendEvents(conn: DuckDBConnection, events: readonly EventRecord[], nowMicros: number, firstSeq: number): Promise<void> {
  const now = BigInt(nowMicros);
  const ap = await conn.createAppender('events');
  let seq = BigInt(firstSeq);
  for (const e of events) {
    ap.appendVarchar(e.tenant);
    ap.appendVarchar(e.id);
    ap.appendVarchar(e.type);
    ap.appendVarchar(e.source);
    ap.appendBigInt(BigInt(e.time));
    if (e.actor === null) ap.appendNull();
    else ap.appendVarchar(e.actor);
    ap.appendVarchar(e.dataJson);
    ap.appendVarchar(e.contentHash);
    ap.appendBigInt(now);
    ap.appendBigInt(seq++);
    ap.endRow();
  }
  ap.closeSync();
}

/**
 * Appends derived rows: unique facts to `pending_facts` (each derivation — a flush window, a
 * backfill page — yields a fact once; one repeated across derivations is harmless, as queries
 * count distinct values) and minute rollup deltas (hour and day are derived from minutes by
 * compaction and queries). Returns the number of rows written, which compaction folds.
 */
export async function appendDerived(conn: DuckDBConnection, derived: DerivedRows): Promise<number> {
  if (derived.uniques.length > 0) {
    const ap = await conn.createAppender('pending_facts');
    for (const u of derived.uniques) {
      ap.appendVarchar(u.meter);
      ap.appendVarchar(u.tenant);
      ap.appendBigInt(BigInt(Math.floor(u.time / MICROS_PER_MINUTE) * MICROS_PER_MINUTE));
      ap.appendVarchar(u.dimKey); // the dimension columns are read from it (schema.ts PENDING_FACTS_AS_UNIQUE)
      ap.appendVarchar(u.value);
      ap.endRow();
    }
    ap.closeSync();
  }
  let rows = derived.uniques.length;
  let stats: DuckDBAppender | undefined;
  let latest: DuckDBAppender | undefined;
  for (const r of derived.rollups) {
    if (r.res !== 'minute') continue;
    rows++;
    const c = r.c;
    const hasStats = c.sum !== null || c.min !== null || c.max !== null;
    // A row with a latest goes to latest_deltas; its count stays with its stats when it has them.
    if (hasStats || c.latest === null) {
      stats ??= await conn.createAppender('rollup_deltas');
      appendDeltaKey(stats, r.meter, r.tenant, r.bucket, r.dimKey, r.c.count);
      for (const d of [c.sum, c.min, c.max]) {
        if (d === null) stats.appendNull();
        else stats.appendHugeInt(d);
      }
      stats.endRow();
    }
    if (c.latest !== null) {
      latest ??= await conn.createAppender('latest_deltas');
      appendDeltaKey(latest, r.meter, r.tenant, r.bucket, r.dimKey, hasStats ? 0n : r.c.count);
      latest.appendHugeInt(c.latest.value);
      latest.appendBigInt(BigInt(c.latest.time));
      latest.appendVarchar(c.latest.id);
      latest.endRow();
    }
  }
  stats?.closeSync();
  latest?.closeSync();
  return rows;
}

/** The leading columns of a pending delta: the dimension columns are read from `dim_key` (schema.ts DELTA_DIMS). */
function appendDeltaKey(ap: DuckDBAppender, meter: string, tenant: string, bucket: number, dimKey: string, count: bigint): void {
  ap.appendVarchar(meter);
  ap.appendVarchar(tenant);
  ap.appendBigInt(BigInt(bucket));
  ap.appendVarchar(dimKey);
  ap.appendBigInt(count);
}

/** Content hashes of the given events' (tenant, id) pairs that are already stored (committed). */
export async function storedHashes(conn: DuckDBConnection, events: readonly EventRecord[]): Promise<Map<string, string>> {
  if (events.length === 0) return new Map();
  await conn.run('DELETE FROM stage_keys');
  const ap = await conn.createAppender('stage_keys');
  for (const e of events) {
    ap.appendVarchar(e.tenant);
    ap.appendVarchar(e.id);
    ap.endRow();
  }
  ap.closeSync();
  const rows = (await conn.runAndReadAll('SELECT e.tenant, e.id, e.content_hash FROM stage_keys k JOIN events e ON e.tenant = k.tenant AND e.id = k.id')).getRows();
  return new Map(rows.map((r) => [eventKey(r[0] as string, r[1] as string), r[2] as string]));
}

/** Runs `fn` in a transaction on `conn`, rolling back when it throws. */
export async function inTransaction(conn: DuckDBConnection, fn: () => Promise<void>): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    await fn();
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
