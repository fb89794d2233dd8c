import type { EpochMicros } from '../shared/time.ts';

/** The kinds of records the alerts domain keeps. */
export const RECORD_KINDS = ['rule', 'alert', 'endpoint', 'message', 'attempt'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/**
 * One stored record of the alerts domain: a few columns the store filters and sorts on, and the
 * record itself as JSON. `status` `deleted` is a tombstone (lists and gets skip it).
 */
export interface AlertRecord {
  kind: RecordKind;
  id: string;
  /** The tenant it concerns ('' for none). */
  tenant: string;
  /** rule: active; alert: firing | resolved; message: pending | delivered | dead; … */
  status: string;
  /** The sort time: an alert's last change, a message's next attempt, an attempt's start. */
  at: EpochMicros;
  /** A second key to find records by (a message's endpoint, an attempt's message), '' for none. */
  ref: string;
  body: string;
}

/** Which records to list. */
export interface RecordFilter {
  tenant?: string;
  status?: string;
  ref?: string;
  /** `at` at or after. */
  from?: EpochMicros;
  /** `at` at or before. */
  to?: EpochMicros;
  /** `asc` for the outbox (due first); default `desc` (newest first). */
  order?: 'asc' | 'desc';
  /** Default 1000, at most 10,000. */
  limit?: number;
}

/**
 * The alert lifecycle store (rules, alerts, webhook endpoints, the delivery outbox and its
 * attempt log): a narrow record port so each backend is one small adapter. A `put` replaces the
 * record with the same kind and id (the last put wins); `putNew` writes only if no record has
 * that kind and id yet, which makes enqueueing idempotent. Adapters: DuckDB (embedded) and
 * ClickHouse (distributed), both running `store-contract.ts`. Writers are serialized by the
 * callers (the evaluation job and the dispatcher run under leases).
 */
export interface AlertStore {
  put(r: AlertRecord): Promise<void>;
  /** Writes `r` unless a record of its kind and id exists; true when written. */
  putNew(r: AlertRecord): Promise<boolean>;
  get(kind: RecordKind, id: string): Promise<AlertRecord | undefined>;
  list(kind: RecordKind, f?: RecordFilter): Promise<AlertRecord[]>;
  /**
   * Retention: deletes history whose last change is before `before` — resolved and one-off
   * alerts, delivered and dead messages, delivery attempts, tombstones — never rules,
   * endpoints, firing alerts or pending messages. `dryRun` only counts. Returns the records.
   */
  dropHistory(before: EpochMicros, dryRun: boolean): Promise<number>;
  close(): Promise<void>;
}

/** The history retention may delete (see `AlertStore.dropHistory`), over columns `kind` and `status` (or their prefixed names). */
export function historyCondition(kind = 'kind', status = 'status'): string {
  return `((${kind} = 'alert' AND ${status} IN ('resolved', 'event')) OR (${kind} = 'message' AND ${status} IN ('delivered', 'dead')) OR ${kind} = 'attempt' OR ${status} = 'deleted')`;
}

/** A limit within the port's bounds. */
export function boundedLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? 1000, 10_000));
}
