import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { eventKey, type EventRecord } from '../../events/event.ts';
import { MICROS_PER_MINUTE } from '../../shared/time.ts';
import type { DerivedRows, RollupDelta } from '../../usage/derive-rollups.ts';

/**
 * Appends rows to `table` with `fill`, then closes the appender (which writes them into the
 * connection's transaction). When `fill` throws, the buffered rows are cleared before the
 * appender is closed: a close would write them, and one left to the garbage collector could
 * write them after the caller's transaction was rolled back.
 */
async function withAppender(conn: DuckDBConnection, table: string, fill: (ap: DuckDBAppender) => void): Promise<void> {
  const ap = await conn.createAppender(table);
  try {
    fill(ap);
  } catch (err) {
    try {
      ap.clear();
      ap.closeSync();
    } catch {
      // The first error is the one to report.
    }
    throw err;
  }
  ap.closeSync();
}

const HUGEINT_MAX = 2n ** 127n - 1n;

/** A value for a HUGEINT column: the appender would wrap one past 128 bits; refuse it loudly instead. */
function hugeint(v: bigint): bigint {
  if (v > HUGEINT_MAX || v < -HUGEINT_MAX - 1n) throw new RangeError(`a rollup value of ${v} (scaled ×10^12) exceeds 128 bits; refusing to store it wrapped`);
  return v;
}

/** Appends raw events with consecutive sequence numbers (the `events` primary key is the dedupe ledger). */
export async function appendEvents(conn: DuckDBConnection, events: readonly EventRecord[], nowMicros: number, firstSeq: number): Promise<void> {
  const now = BigInt(nowMicros);
  let seq = BigInt(firstSeq);
  await withAppender(conn, 'events', (ap) => {
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
  });
}

/**
 * Appends derived rows: unique facts to `pending_facts` (each derivation — a flush window, a
 * backfill page — yields a fact once; one repeated across derivations is harmless, as queries
 * count distinct values) and minute rollup deltas (hour and day are derived from minutes by
 * compaction and queries). Returns the number of rows written, which compaction folds.
 */
export async function appendDerived(conn: DuckDBConnection, derived: DerivedRows): Promise<number> {
  if (derived.uniques.length > 0) {
    await withAppender(conn, 'pending_facts', (ap) => {
      for (const u of derived.uniques) {
        ap.appendVarchar(u.meter);
        ap.appendVarchar(u.tenant);
        ap.appendBigInt(BigInt(Math.floor(u.time / MICROS_PER_MINUTE) * MICROS_PER_MINUTE));
        ap.appendVarchar(u.dimKey); // the dimension columns are read from it (schema.ts PENDING_FACTS_AS_UNIQUE)
        ap.appendVarchar(u.value);
        ap.endRow();
      }
    });
  }
  const minutes = derived.rollups.filter((r) => r.res === 'minute');
  // A row with a latest goes to latest_deltas; its count stays with its stats when it has them.
  const hasStats = (c: RollupDelta['c']) => c.sum !== null || c.min !== null || c.max !== null;
  const stats = minutes.filter((r) => hasStats(r.c) || r.c.latest === null);
  const latest = minutes.filter((r) => r.c.latest !== null);
  if (stats.length > 0) {
    await withAppender(conn, 'rollup_deltas', (ap) => {
      for (const r of stats) {
        appendDeltaKey(ap, r.meter, r.tenant, r.bucket, r.dimKey, r.c.count);
        for (const d of [r.c.sum, r.c.min, r.c.max]) {
          if (d === null) ap.appendNull();
          else ap.appendHugeInt(hugeint(d));
        }
        ap.endRow();
      }
    });
  }
  if (latest.length > 0) {
    await withAppender(conn, 'latest_deltas', (ap) => {
      for (const r of latest) {
        const l = r.c.latest!;
        appendDeltaKey(ap, r.meter, r.tenant, r.bucket, r.dimKey, hasStats(r.c) ? 0n : r.c.count);
        ap.appendHugeInt(hugeint(l.value));
        ap.appendBigInt(BigInt(l.time));
        ap.appendVarchar(l.id);
        ap.endRow();
      }
    });
  }
  return derived.uniques.length + minutes.length;
}

/** The leading columns of a pending delta: the dimension columns are read from `dim_key` (schema.ts DELTA_DIMS). */
function appendDeltaKey(ap: DuckDBAppender, meter: string, tenant: string, bucket: number, dimKey: string, count: bigint): void {
  ap.appendVarchar(meter);
  ap.appendVarchar(tenant);
  ap.appendBigInt(BigInt(bucket));
  ap.appendVarchar(dimKey);
  ap.appendBigInt(count);
}

/** Content hashes of the given events' (tenant, id) pairs that are already stored (committed), as raw rows or in the dedupe ledger. */
export async function storedHashes(conn: DuckDBConnection, events: readonly EventRecord[]): Promise<Map<string, string>> {
  if (events.length === 0) return new Map();
  await conn.run('DELETE FROM stage_keys');
  await withAppender(conn, 'stage_keys', (ap) => {
    for (const e of events) {
      ap.appendVarchar(e.tenant);
      ap.appendVarchar(e.id);
      ap.endRow();
    }
  });
  // Raw rows first, then the ids retention moved to the ledger (privacy/retention).
  const sql = 'SELECT e.tenant, e.id, e.content_hash FROM stage_keys k JOIN events e ON e.tenant = k.tenant AND e.id = k.id ' + 'UNION ALL SELECT l.tenant, l.id, l.content_hash FROM stage_keys k JOIN dedupe_ledger l ON l.tenant = k.tenant AND l.id = k.id';
  const rows = (await conn.runAndReadAll(sql)).getRows();
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
