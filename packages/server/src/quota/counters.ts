import type { EpochMicros } from '../shared/time.ts';

/** Where one live counter lives: a tenant's usage of a meter in the period starting at `period`. */
export interface CounterKey {
  readonly tenant: string;
  readonly meter: string;
  /** Start of the period (epoch µs). */
  readonly period: EpochMicros;
}

/** One entitlement of an atomic check-and-record. */
export interface CounterItem extends CounterKey {
  readonly limit: bigint;
  /** Scaled ×10^12, non-negative. */
  readonly amount: bigint;
  readonly hard: boolean;
}

/**
 * The speed layer's port: live usage per tenant × meter × period, scaled integers (×10^12).
 * The embedded profile keeps them in process ({@link MemoryQuotaCounters}); a distributed
 * profile would implement the same calls with one Redis script each. Synchronous on purpose:
 * check-and-record must not interleave with another consumption.
 */
export interface QuotaCounters {
  usage(k: CounterKey): bigint;
  /** Replaces usage (seeding from the exact rollups). */
  set(k: CounterKey, usage: bigint): void;
  /** Adds a signed delta unconditionally (ingest feed, giving back a reservation). */
  add(k: CounterKey, delta: bigint): void;
  /** Records every item, or none when a hard item would exceed its limit. */
  consumeAll(items: readonly CounterItem[]): { recorded: boolean; usages: bigint[] };
  /** Drops a counter whose period is over. */
  forget(k: CounterKey): void;
}
