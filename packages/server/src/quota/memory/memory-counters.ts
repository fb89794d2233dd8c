import { ExactEntitlementCounters } from '@tally/limiter';
import type { Clock } from '../../shared/time.ts';
import { periodOfItem, type ConsumeOutcome, type CounterItem, type CounterKey, type QuotaCounters } from '../counters.ts';

// The period is part of the key: a late event for the previous period or an early one for the
// next (clock skew) must land in its own counter, never reset the current one.
function keyOf(k: CounterKey): string {
  return `${k.tenant}\u0000${k.meter}\u0000${k.period}`;
}

/**
 * In-process {@link QuotaCounters} on `@tally/limiter`'s exact (bigint) entitlement counters.
 * The work is synchronous inside each call, so a consumption never interleaves with another.
 */
export class MemoryQuotaCounters implements QuotaCounters {
  // Keys are bounded by config (tenants on plans × entitlements × live periods) and pruned
  // when periods end, so eviction, which would forget usage, is never relied on.
  private readonly counters = new ExactEntitlementCounters({ maxKeys: Number.MAX_SAFE_INTEGER });

  constructor(private readonly clock?: Clock) {}

  usagesNow(keys: readonly CounterKey[]): bigint[] {
    return keys.map((k) => this.counters.usage(keyOf(k), String(k.period)));
  }

  usages(keys: readonly CounterKey[]): Promise<bigint[]> {
    return Promise.resolve(this.usagesNow(keys));
  }

  set(k: CounterKey, usage: bigint): Promise<void> {
    this.counters.set(keyOf(k), String(k.period), usage);
    return Promise.resolve();
  }

  raise(k: CounterKey, usage: bigint): Promise<void> {
    if (this.usagesNow([k])[0]! < usage) this.counters.set(keyOf(k), String(k.period), usage);
    return Promise.resolve();
  }

  addNow(deltas: readonly (CounterKey & { delta: bigint })[]): void {
    for (const d of deltas) this.counters.record(keyOf(d), String(d.period), d.delta);
  }

  add(deltas: readonly (CounterKey & { delta: bigint })[]): Promise<void> {
    this.addNow(deltas);
    return Promise.resolve();
  }

  /** The synchronous consumption (the local and leased modes build on it). */
  consumeNow(items: readonly CounterItem[]): ConsumeOutcome {
    const now = this.clock?.nowMicros();
    const periods = items.map((it) => (now === undefined ? it.period : periodOfItem(it, now)));
    const r = this.counters.consumeAll(items.map((it, i) => ({ key: keyOf({ ...it, period: periods[i]! }), period: String(periods[i]), limit: it.limit, amount: it.amount, hard: it.hard })));
    return { recorded: r.recorded, usages: r.states.map((s) => s.usage), periods, decidedBy: { by: 'counters', mode: 'central' } };
  }

  consumeAll(items: readonly CounterItem[]): Promise<ConsumeOutcome> {
    try {
      return Promise.resolve(this.consumeNow(items));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  forget(k: CounterKey): Promise<void> {
    this.counters.delete(keyOf(k));
    return Promise.resolve();
  }
}
