import { assertCost } from './policy.ts';

/** Answer of an entitlement check: integer units, never floats. */
export interface EntitlementState {
  /** Whether the requested amount fits (hard limit) or usage is still within the limit (soft). */
  readonly hasAccess: boolean;
  readonly usage: number;
  readonly limit: number;
  readonly remaining: number;
}

/** Result of {@link EntitlementCounters.consume}: `recorded` says whether usage was added. */
export interface EntitlementConsumption extends EntitlementState {
  readonly recorded: boolean;
}

interface Entry {
  period: string;
  usage: number;
}

/**
 * In-process live usage counters for quota / entitlement checks: one Map lookup and integer math,
 * synchronous (so check-and-record is atomic within the process). The caller names the period
 * (e.g. `2025-06` in the tenant's time zone); a new period starts from zero. Amounts are integers
 * (scale decimal meters to minor units). Bounded: past `maxKeys` the oldest key is dropped and
 * counted in `dropped` — the batch layer remains the source of truth and can `set` it back.
 */
export class EntitlementCounters {
  private readonly map = new Map<string, Entry>();
  private readonly maxKeys: number;
  /** Keys dropped to respect `maxKeys`. */
  dropped = 0;

  constructor(options: { maxKeys?: number } = {}) {
    this.maxKeys = options.maxKeys ?? 1_000_000;
  }

  /** Replaces the usage of `key` in `period` (seeding from the batch layer or a reconciliation). */
  set(key: string, period: string, usage: number): void {
    assertCost(usage);
    this.entry(key, period).usage = usage;
  }

  /** Current usage of `key` in `period`. */
  usage(key: string, period: string): number {
    const e = this.map.get(key);
    return e !== undefined && e.period === period ? e.usage : 0;
  }

  /** Whether `amount` more would fit under `limit`, without recording anything. */
  check(key: string, period: string, limit: number, amount = 0): EntitlementState {
    assertCost(amount);
    const usage = this.usage(key, period);
    return { hasAccess: usage + amount <= limit, usage, limit, remaining: Math.max(0, limit - usage) };
  }

  /**
   * Checks and records `amount` in one step. Hard limits record only what fits (all or nothing);
   * soft limits always record and report `hasAccess: false` once usage exceeds the limit.
   */
  consume(key: string, period: string, limit: number, amount: number, hard = true): EntitlementConsumption {
    assertCost(amount);
    const e = this.entry(key, period);
    const fits = e.usage + amount <= limit;
    const recorded = fits || !hard;
    if (recorded) e.usage += amount;
    const hasAccess = hard ? fits : e.usage <= limit;
    return { hasAccess, recorded, usage: e.usage, limit, remaining: Math.max(0, limit - e.usage) };
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
      e = { period, usage: 0 };
      this.map.set(key, e);
    } else if (e.period !== period) {
      e.period = period;
      e.usage = 0;
    }
    return e;
  }
}
