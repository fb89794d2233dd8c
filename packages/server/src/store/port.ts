import type { AppendOutcome, EventRecord } from '../events/event.ts';
import type { Aggregation, MeterDefinition } from '../meters/meter.ts';
import type { EpochMicros } from '../shared/time.ts';
import type { Components } from '../usage/components.ts';
import type { DerivedRows } from '../usage/derive-rollups.ts';
import type { RollupAccumulator } from '../usage/rollup-accumulator.ts';
import type { Resolution } from '../usage/resolution.ts';

/**
 * How windows are laid out for a query: either uniform (`origin + i·width`, the fast path
 * for MINUTE/HOUR and UTC days) or an explicit sorted boundary list (time-zone days, months).
 */
export type WindowLayout =
  | { kind: 'uniform'; origin: EpochMicros; width: number; count: number }
  | { kind: 'explicit'; boundaries: EpochMicros[] };

/** A question to the rollups (or the unique facts) of one meter. */
export interface AggregateQuery {
  /** The meter's rollup series (`Meter.series`; the slug for UNIQUE_COUNT facts and LATEST). */
  meter: string;
  from: EpochMicros;
  to: EpochMicros;
  windows: WindowLayout;
  /** Only these tenants (undefined: all). */
  tenants?: string[];
  /** Not these tenants (canary tenants left out of all-tenant answers). */
  excludeTenants?: string[];
  groupByTenant: boolean;
  /** Dimension positions (0-based, in the meter's sorted order) to group by. */
  groupDims: number[];
  /** Dimension position → allowed values. */
  filters: { dim: number; values: string[] }[];
  /**
   * The meter's aggregation, when known: a store may then compute only the components that
   * aggregation reads (COUNT needs no sums, only LATEST needs the latest value).
   */
  aggregation?: Aggregation;
}

/** One aggregated group of one window. `dims` follows `groupDims`. */
export interface AggregateRow {
  window: number;
  tenant: string | null;
  dims: (string | null)[];
  components: Components;
}

/** One group of a UNIQUE_COUNT query. */
export interface UniqueRow {
  window: number;
  tenant: string | null;
  dims: (string | null)[];
  count: bigint;
}

/** Which raw events to list (the raw event API): all filters optional, keyset-paged. */
export interface EventListQuery {
  tenant?: string;
  type?: string;
  id?: string;
  /** Event time, [from, to). */
  from?: EpochMicros;
  to?: EpochMicros;
  /** Ingest time, [ingestedFrom, ingestedTo). */
  ingestedFrom?: EpochMicros;
  ingestedTo?: EpochMicros;
  /** Only events after this (time, tenant, id) key: the previous page's last event. */
  after?: [EpochMicros, string, string];
  limit: number;
}

/** A raw event as stored, with the time it was ingested. */
export interface StoredEvent extends EventRecord {
  readonly ingestedAt: EpochMicros;
}

/** A stored API key (the secret itself is never stored, only its hash). */
export interface StoredKey {
  id: string;
  name: string;
  hash: string;
  scopes: string[];
  tenant: string | null;
  createdAt: EpochMicros;
  revokedAt: EpochMicros | null;
  /** When the key stops working (portal tokens); null or absent: never. */
  expiresAt?: EpochMicros | null;
  /** The only meters the key may query (portal tokens); null or absent: every meter. */
  allowedMeters?: string[] | null;
  /** The last time the key authenticated a request (recorded within a minute); null: never. */
  lastUsedAt?: EpochMicros | null;
}

/** One key's latest use, as `touchKeys` records it. */
export interface KeyUse {
  id: string;
  at: EpochMicros;
}

/**
 * Derives rollup rows from events that were just stored (supplied by the domain). A store may
 * pass an accumulator to merge the deltas into (its pending rollups); a deriver that takes it
 * returns no `rollups` of its own, one that ignores it returns them as usual.
 */
export type RollupDeriver = (events: readonly EventRecord[], into?: RollupAccumulator) => DerivedRows;

/**
 * The storage port: raw events with their dedupe ledger, rollups, meters, keys. Every
 * implementation runs `store/contract.ts`. Domain code sees only this interface.
 */
export interface UsageStore {
  /** Short engine name for logs and answers ("duckdb", "clickhouse"). */
  readonly engine: string;
  /** Stores new events and their rollups atomically; duplicates (also within the batch) are reported. */
  append(events: readonly EventRecord[]): Promise<AppendOutcome[]>;
  /**
   * Registers a meter and backfills its rollups from stored raw events, atomically with
   * respect to `append` (no event is missed or counted twice). `onCommitted` runs before
   * any later append is processed.
   */
  createMeter(def: MeterDefinition, derive: RollupDeriver, onCommitted: () => void): Promise<{ backfilled: number; skipped: number }>;
  listMeters(): Promise<MeterDefinition[]>;
  aggregate(q: AggregateQuery, res: Resolution): Promise<AggregateRow[]>;
  /** UNIQUE_COUNT per window; the query service only asks with whole-minute window boundaries. */
  countUnique(q: AggregateQuery): Promise<UniqueRow[]>;
  /** Raw events of one type in [from, to), for tenants (all if undefined), in pages. */
  scanEvents(type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]>;
  /** Raw events matching `q` in (time, tenant, id) order, at most `q.limit`. */
  listEvents(q: EventListQuery): Promise<StoredEvent[]>;
  countEvents(): Promise<bigint>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  putKey(key: StoredKey): Promise<void>;
  listKeys(): Promise<StoredKey[]>;
  revokeKey(id: string, at: EpochMicros): Promise<boolean>;
  /** Records keys' last use; a use older than the recorded one changes nothing. */
  touchKeys(uses: readonly KeyUse[]): Promise<void>;
  /** Throws when the store cannot serve. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
