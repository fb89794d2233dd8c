/** Answer of an exact entitlement check, in integer minor units (bigint: no 2^53 ceiling). */
export interface ExactEntitlementState {
  /** Hard: the requested amount fits. Soft: usage is still within the limit after the call. */
  readonly hasAccess: boolean;
  readonly usage: bigint;
  readonly limit: bigint;
  readonly remaining: bigint;
}

/** One item of {@link ExactEntitlementCounters.consumeAll}. */
export interface ExactConsumeItem {
  readonly key: string;
  readonly period: string;
  readonly limit: bigint;
  readonly amount: bigint;
  /** Hard items must fit or nothing is recorded; soft items always record. */
  readonly hard: boolean;
}

interface Entry {
  period: string;
  usage: bigint;
}

/**
 * {@link EntitlementCounters} for quantities that do not fit a double: usage and limits are
 * bigints, so a meter kept in 10^-12 units (decimal quantities scaled to integers) stays exact
 * far beyond 2^53. Synchronous, so check-and-record is atomic within the process, for one
 * entitlement or several at once ({@link consumeAll}). Signed {@link record} carries the speed
 * layer's feed (corrections may be negative) and gives back a reservation.
 */
export class ExactEntitlementCounters {
  private readonly map = new Map<string, Entry>();
  private readonly maxKeys: number;
  /** Keys dropped to respect `maxKeys` (the batch layer can `set` them back). */
  dropped = 0;

  constructor(options: { maxKeys?: number } = {}) {
    this.maxKeys = options.maxKeys ?? 1_000_000;
  }

  /** Number of keys held. */
  get size(): number {
    return this.map.size;
  }

  /** Replaces the usage of `key` in `period` (seeding from the batch layer). */
  set(key: string, period: string, usage: bigint): void {
    this.entry(key, period).usage = usage;
  }

  /** Current usage of `key` in `period` (0 for another period). */
  usage(key: string, period: string): bigint {
    const e = this.map.get(key);
    return e !== undefined && e.period === period ? e.usage : 0n;
  }

  /** Whether `amount` more would fit under `limit`, without recording anything. */
  check(key: string, period: string, limit: bigint, amount = 0n): ExactEntitlementState {
    assertAmount(amount);
    const usage = this.usage(key, period);
    return { hasAccess: usage + amount <= limit, usage, limit, remaining: nonNegative(limit - usage) };
  }

  /** Adds a signed `delta` unconditionally and returns the new usage. */
  record(key: string, period: string, delta: bigint): bigint {
    const e = this.entry(key, period);
    e.usage += delta;
    return e.usage;
  }

  /**
   * Checks and records several entitlements in one synchronous step, all or nothing: when a hard
   * item does not fit nothing is recorded. Answers each item's state, in order.
   */
  consumeAll(items: readonly ExactConsumeItem[]): { recorded: boolean; states: ExactEntitlementState[] } {
    for (const it of items) assertAmount(it.amount);
    const fits = items.map((it) => this.usage(it.key, it.period) + it.amount <= it.limit);
    const recorded = items.every((it, i) => !it.hard || fits[i]);
    const states = items.map((it, i) => {
      const usage = recorded ? this.record(it.key, it.period, it.amount) : this.usage(it.key, it.period);
      const hasAccess = it.hard ? fits[i]! : usage <= it.limit;
      return { hasAccess, usage, limit: it.limit, remaining: nonNegative(it.limit - usage) };
    });
    return { recorded, states };
  }

  /** Forgets `key` (e.g. a period that ended). */
  delete(key: string): boolean {
    return this.map.delete(key);
  }

  private entry(key: string, period: string): Entry {
    let e = this.map.get(key);
    if (e === undefined) {
      if (this.map.size >= this.maxKeys) {
        const oldest = this.map.keys().next();
        if (oldest.done !== true) {
          this.map.delete(oldest.value);
          this.dropped += 1;
        }
      }
      e = { period, usage: 0n };
      this.map.set(key, e);
    } else if (e.period !== period) {
      e.period = period;
      e.usage = 0n;
    }
    return e;
  }
}

function nonNegative(v: bigint): bigint {
  return v < 0n ? 0n : v;
}

function assertAmount(amount: bigint): void {
  if (typeof amount !== 'bigint' || amount < 0n) throw new RangeError(`amount must be a non-negative bigint, got ${String(amount)}`);
}
