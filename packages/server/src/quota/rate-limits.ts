import { httpOutcome, MemoryLimiter, MemoryStore, type HttpOutcome } from '@tally/limiter';
import { MICROS_PER_MS, type Clock } from '../shared/time.ts';
import type { PlanCatalog } from './catalog.ts';

/**
 * The rate-limit policies of each plan, per tenant, on `@tally/limiter`'s synchronous memory
 * limiter (all of a plan's policies checked and consumed together, all or nothing). Answers
 * the IETF `RateLimit` / `RateLimit-Policy` headers with every decision.
 */
export class QuotaRateLimits {
  private readonly byPlan = new Map<string, MemoryLimiter>();
  private readonly ingestByPlan = new Map<string, MemoryLimiter>();

  constructor(
    catalog: PlanCatalog,
    clock: Clock,
    /** The catalog in force (run-time plan assignments); default: `catalog`. */
    private readonly current: () => PlanCatalog = () => catalog,
  ) {
    const store = new MemoryStore({ clock: () => Math.floor(clock.nowMicros() / MICROS_PER_MS) });
    for (const p of catalog.plans) if (p.rateLimits.length > 0) this.byPlan.set(p.id, new MemoryLimiter({ policies: p.rateLimits, store }));
    for (const p of catalog.plans) if (p.ingestRateLimits.length > 0) this.ingestByPlan.set(p.id, new MemoryLimiter({ policies: p.ingestRateLimits, store }));
  }

  /**
   * Takes one ingest request from the plan policies of each tenant the request carries events
   * for (per tenant, or per API key when the plan says `ingestRateLimitPer: key`); the first
   * refusal decides, `undefined` when no plan involved limits ingest.
   */
  takeIngest(tenants: ReadonlySet<string>, keyId: string | undefined): HttpOutcome | undefined {
    let last: HttpOutcome | undefined;
    for (const tenant of tenants) {
      const plan = this.current().planOf(tenant);
      const limiter = plan === undefined ? undefined : this.ingestByPlan.get(plan.id);
      if (plan === undefined || limiter === undefined) continue;
      const who = plan.ingestPer === 'key' ? `key:${keyId ?? 'none'}` : `tenant:${tenant}`;
      last = httpOutcome(limiter.limit(`ingest:${plan.id}:${who}`), plan.ingestRateLimits);
      if (!last.proceed) return last;
    }
    return last;
  }

  /** Takes one call from the tenant's policies; `undefined` when its plan has none. */
  take(tenant: string): HttpOutcome | undefined {
    const plan = this.current().planOf(tenant);
    const limiter = plan === undefined ? undefined : this.byPlan.get(plan.id);
    if (plan === undefined || limiter === undefined) return undefined;
    // The plan id is part of the key so a tenant moved to another plan starts a fresh window.
    return httpOutcome(limiter.limit(`${plan.id}:${tenant}`), plan.rateLimits);
  }
}
