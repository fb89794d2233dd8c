import { ExactEntitlementCounters } from '@tally/limiter';
import type { CounterItem, CounterKey, QuotaCounters } from '../counters.ts';

// The period is part of the key: a late event for the previous period or an early one for the
// next (clock skew) must land in its own counter, never reset the current one.
function keyOf(k: CounterKey): string {
  return `${k.tenant}\u0000${k.meter}\u0000${k.period}`;
}

/** In-process {@link QuotaCounters} on `@tally/limiter`'s exact (bigint) entitlement counters. */
export class MemoryQuotaCounters implements QuotaCounters {
  // Keys are bounded by config (tenants on plans × entitlements × live periods) and pruned
  // when periods end, so eviction, which would forget usage, is never relied on.
  private readonly counters = new ExactEntitlementCounters({ maxKeys: Number.MAX_SAFE_INTEGER });

  usage(k: CounterKey): bigint {
    return this.counters.usage(keyOf(k), String(k.period));
  }

  set(k: CounterKey, usage: bigint): void {
    this.counters.set(keyOf(k), String(k.period), usage);
  }

  add(k: CounterKey, delta: bigint): void {
    this.counters.record(keyOf(k), String(k.period), delta);
  }

  consumeAll(items: readonly CounterItem[]): { recorded: boolean; usages: bigint[] } {
    const r = this.counters.consumeAll(items.map((it) => ({ key: keyOf(it), period: String(it.period), limit: it.limit, amount: it.amount, hard: it.hard })));
    return { recorded: r.recorded, usages: r.states.map((s) => s.usage) };
  }

  forget(k: CounterKey): void {
    this.counters.delete(keyOf(k));
  }
}
