import { join } from 'node:path';
import type { MeterDefinition } from '../../meters/meter.ts';
import { MeterService } from '../../meters/meter-service.ts';
import { MeterRegistry } from '../../meters/registry.ts';
import { systemClock, type Clock, type EpochMicros } from '../../shared/time.ts';
import { ClickHouseStore } from '../../store/clickhouse/clickhouse-store.ts';
import { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../../store/port.ts';
import { deriveRollups } from '../../usage/derive-rollups.ts';
import { QueryService } from '../../usage/query-service.ts';
import { CORRECTION_TYPE } from '../corrections/correction.ts';
import { markCorrections } from '../corrections/effective-events.ts';
import { readArchive } from './replay.ts';

/** A store rebuilt from the archive, ready to query. */
export interface ReplayedStore {
  store: UsageStore;
  meters: MeterRegistry;
  queries: QueryService;
  /** Rows read from the archive (events and corrections) and how many the store took as new. */
  rows: number;
  accepted: number;
  close(): Promise<void>;
}

/** Where a replay writes: a new embedded store in a directory, or a ClickHouse database (created if missing). */
export type ReplayTarget = string | { clickhouseUrl: string; database: string };

/**
 * Rebuilds a fresh store from the archive — an embedded DuckDB store in a directory, or a
 * ClickHouse database (the distributed profile's store, written directly: the rebuilt copy is
 * not fed through the stream, whose duplicate window a month of events would outlast). The
 * meters (`defs`) are declared on the empty store, then every archived row with event time in
 * [from, to) — events and corrections — is appended through the store's ordinary append, which
 * derives the rollups. The store's dedupe makes a repeated replay add nothing. With `tenant`,
 * only that tenant's rows are replayed (a dispute): a tenant-sharded archive is read from that
 * tenant's bucket files only.
 */
export async function replayIntoStore(root: string, from: EpochMicros, to: EpochMicros, into: ReplayTarget, defs: readonly MeterDefinition[], opts: { clock?: Clock; onProgress?: (rows: number) => void; tenant?: string } = {}): Promise<ReplayedStore> {
  const registry = new MeterRegistry();
  const clock = opts.clock ?? systemClock;
  let store: UsageStore;
  let recover: (() => Promise<void>) | undefined;
  if (typeof into === 'string') {
    const duck = await DuckDbStore.open({ path: join(into, 'tally.duckdb'), derive: (events, acc) => deriveRollups(events, (t) => registry.forType(t), ['minute'], acc), nowMicros: () => clock.nowMicros(), recoverOnOpen: false });
    store = duck;
    recover = () => duck.recover();
  } else {
    store = await ClickHouseStore.open({ url: into.clickhouseUrl, database: into.database, derive: (events) => deriveRollups(events, (t) => registry.forType(t)), nowMicros: () => clock.nowMicros() });
  }
  try {
    const meters = new MeterService(store, registry);
    await meters.load();
    await recover?.();
    for (const def of defs) if (!registry.get(def.slug)) await meters.create(def);
    let rows = 0;
    let accepted = 0;
    for await (const page of readArchive(root, from, to, 10_000, opts.tenant)) {
      if (page.some((e) => e.type === CORRECTION_TYPE)) await markCorrections(store);
      const outcomes = await store.append(page);
      rows += page.length;
      accepted += outcomes.filter((o) => o.status === 'accepted').length;
      opts.onProgress?.(rows);
    }
    return { store, meters: registry, queries: new QueryService(store, registry, clock), rows, accepted, close: () => store.close() };
  } catch (err) {
    await store.close();
    throw err;
  }
}
