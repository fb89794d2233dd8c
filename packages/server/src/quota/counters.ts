import type { EpochMicros } from '../shared/time.ts';

/** Where one live counter lives: a tenant's usage of a meter in the period starting at `period`. */
export interface CounterKey {
  readonly tenant: string;
  readonly meter: string;
  /** Start of the period (epoch µs). */
  readonly period: EpochMicros;
}

/** How a check reaches the shared counters (per entitlement, `plans[].entitlements[].mode`). */
export const ENFORCEMENT_MODES = ['central', 'local', 'leased'] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];

/** What answers when the shared counters (Redis) cannot (per entitlement, `failurePolicy`). */
export const FAILURE_POLICIES = ['open', 'closed', 'open-then-closed'] as const;
export type FailurePolicyName = (typeof FAILURE_POLICIES)[number];

/** One entitlement of an atomic check-and-record. */
export interface CounterItem extends CounterKey {
  readonly limit: bigint;
  /** Scaled ×10^12, non-negative. */
  readonly amount: bigint;
  readonly hard: boolean;
  /**
   * The period after `period` and when it starts. The counters decide which one is current by
   * their own clock (Redis: server `TIME`), so nodes with skewed clocks agree at a boundary.
   */
  readonly next?: { readonly period: EpochMicros; readonly at: EpochMicros };
  /** Default `central`; only a distributed deployment tells the modes apart. */
  readonly mode?: EnforcementMode;
  /** Default `closed`. */
  readonly failurePolicy?: FailurePolicyName;
}

/** Who decided a check: the counters themselves, or a failure policy while they were unreachable. */
export type DecidedBy = { by: 'counters'; mode: EnforcementMode } | { by: 'failure-policy'; policy: FailurePolicyName; cause: string };

/** The answer of {@link QuotaCounters.consumeAll}. */
export interface ConsumeOutcome {
  recorded: boolean;
  /** Usage of each item after the call (before it when nothing was recorded), in order. */
  usages: bigint[];
  /** The period each item was counted in (its `period`, or `next.period` once that has begun). */
  periods: EpochMicros[];
  decidedBy: DecidedBy;
}

/**
 * The speed layer's port: live usage per tenant × meter × period, scaled integers (×10^12).
 * Embedded: in process ({@link MemoryQuotaCounters}); distributed: Redis, one Lua script per
 * call (`RedisQuotaCounters`), reached through the enforcement mode of each entitlement.
 * `consumeAll` is atomic: no other consumption interleaves with its check and its record.
 */
export interface QuotaCounters {
  /** Usage of each key, in order. */
  usages(keys: readonly CounterKey[]): Promise<bigint[]>;
  /** Replaces usage (seeding from the exact rollups). */
  set(k: CounterKey, usage: bigint): Promise<void>;
  /**
   * Raises usage to at least `usage` (re-seeding while traffic flows: the counter and the rollups
   * are both lower bounds of the true usage, so their maximum never over-counts).
   */
  raise(k: CounterKey, usage: bigint): Promise<void>;
  /** Adds a signed delta to each key unconditionally (ingest feed, giving back a reservation). */
  add(deltas: readonly (CounterKey & { delta: bigint })[]): Promise<void>;
  /** Records every item, or none when a hard item would exceed its limit. */
  consumeAll(items: readonly CounterItem[]): Promise<ConsumeOutcome>;
  /** Drops a counter whose period is over. */
  forget(k: CounterKey): Promise<void>;
  /** Stops timers and connections the counters own. */
  close?(): Promise<void>;
}

/** The period an item is counted in at `now` (µs). */
export function periodOfItem(it: CounterItem, now: EpochMicros): EpochMicros {
  return it.next !== undefined && now >= it.next.at ? it.next.period : it.period;
}
