import { parseQuantity } from '../shared/decimal.ts';
import type { Clock } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { Entitlement } from './catalog.ts';
import type { Period } from './period.ts';

/** How long a TIME_WEIGHTED_SUM entitlement's usage is reused before it is integrated again (ms). */
export const TIME_WEIGHTED_USAGE_TTL_MS = 30_000;

/**
 * Usage of TIME_WEIGHTED_SUM entitlements (GB-hours): the exact integral of the samples from the
 * period's start to now, asked of the `QueryService` — the same integrator queries and billing use,
 * never a second one. A gauge's integral grows with time, not with calls, so there is no live
 * counter to feed: each read integrates, and the answer is kept for a short time (30 s) because
 * the integral re-reads the period's raw samples. A stored sample for the tenant drops its cached
 * answers on this node at once (`invalidate`); other nodes see it when their answer expires.
 */
export class TimeWeightedUsage {
  private readonly cache = new Map<string, { at: number; usage: bigint }>();

  constructor(
    private readonly queries: QueryService,
    private readonly clock: Clock,
    private readonly ttlMs = TIME_WEIGHTED_USAGE_TTL_MS,
  ) {}

  /** The integral for the tenant over `[period.start, now)` (the query service's clock is now) in the meter's time unit, ×10^12. */
  async usage(tenant: string, ent: Entitlement, period: Period): Promise<bigint> {
    const key = `${tenant}\u0000${ent.plan}\u0000${ent.id}\u0000${period.start}`;
    const hit = this.cache.get(key);
    const ms = this.clock.nowMicros() / 1000;
    if (hit !== undefined && ms - hit.at < this.ttlMs) return hit.usage;
    const filterGroupBy = Object.fromEntries(ent.filter.map((f) => [f.name, [...f.values]]));
    // The range ends at the period's end; the integrator stops each sample's hold at `now`.
    const r = await this.queries.query({ meter: ent.meter, from: period.start, to: period.end, tenants: [tenant], groupBy: ['tenant'], ...(ent.filter.length > 0 ? { filterGroupBy } : {}) });
    const parsed = parseQuantity(r.data.find((row) => row.tenant === tenant)?.value ?? '0');
    const usage = typeof parsed === 'bigint' ? parsed : 0n;
    // Cache entries of ended periods are never read again: drop them so memory stays bounded.
    for (const [k, v] of this.cache) if (ms - v.at >= this.ttlMs) this.cache.delete(k);
    this.cache.set(key, { at: ms, usage });
    return usage;
  }

  /** Drops the tenant's cached answers (a new sample was stored). */
  invalidate(tenant: string): void {
    const prefix = `${tenant}\u0000`;
    for (const k of this.cache.keys()) if (k.startsWith(prefix)) this.cache.delete(k);
  }
}
