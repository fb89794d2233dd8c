import { correctedEvent } from '../audit/corrections/correction.ts';
import type { EventRecord } from '../events/event.ts';
import { eventKey } from '../events/event.ts';
import { TallyError } from '../errors/registry.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { parseQuantity, SCALE } from '../shared/decimal.ts';
import type { Clock, EpochMicros } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { Entitlement, PlanCatalog } from './catalog.ts';
import type { QuotaCounters } from './counters.ts';
import { cachedPeriodAt, periodAt, type Period } from './period.ts';
import { snapshot, type Snapshot } from './status.ts';
import { QUOTA_SOURCE, type QuotaWarnings } from './warnings.ts';

/**
 * The quota speed layer: live counters per tenant × entitlement × period, seeded from the
 * exact rollups at start and fed by every stored event (`IngestService.onAccepted`), answering
 * entitlement checks in process. Closed periods are left to the batch layer.
 */
export class QuotaService {
  /**
   * Consumption events in flight (event key → time): their usage is already reserved, so the
   * feed must not count them again. Matching the time too means an unrelated event that merely
   * reuses the id (and wins the dedupe race) is still counted.
   */
  readonly reserved = new Map<string, EpochMicros>();
  /** Feed failures (the feed never throws into ingest, which has already committed). */
  feedErrors = 0;
  private readonly currentStart = new Map<Entitlement, EpochMicros>();

  constructor(
    readonly catalog: PlanCatalog,
    readonly counters: QuotaCounters,
    readonly warnings: QuotaWarnings,
    private readonly meters: MeterRegistry,
    readonly clock: Clock,
  ) {}

  /**
   * Seeds the current and the next period from exact rollup queries (the next one may already
   * hold events stamped slightly in the future). Call before the server accepts traffic, so no
   * event is both in a seed and fed live.
   */
  async seed(queries: QueryService): Promise<void> {
    const now = this.clock.nowMicros();
    for (const plan of this.catalog.plans) {
      if (plan.tenants.length === 0) continue;
      for (const ent of plan.entitlements) {
        const cur = this.periodNow(ent, now);
        for (const p of [cur, periodAt(ent.period, cur.end)]) {
          const r = await queries.query({ meter: ent.meter, from: p.start, to: p.end, tenants: [...plan.tenants], groupBy: ['tenant'] });
          for (const row of r.data) {
            const usage = parseQuantity(row.value ?? '0');
            if (row.tenant !== null && typeof usage === 'bigint') this.counters.set({ tenant: row.tenant, meter: ent.meter, period: p.start }, usage);
          }
        }
      }
    }
  }

  /** The `onAccepted` listener: adds stored events to the live counters. */
  readonly feed = (events: readonly EventRecord[]): void => {
    try {
      const now = this.clock.nowMicros();
      const touched = new Map<string, [string, Entitlement]>();
      for (const stored of events) {
        // A correction takes the event it voids back out of the counters.
        const voided = correctedEvent(stored);
        const e = voided ?? stored;
        const sign = voided ? -1n : 1n;
        if (this.catalog.planOf(e.tenant) === undefined || (e.source === QUOTA_SOURCE && this.reserved.get(eventKey(e.tenant, e.id)) === e.time)) continue;
        const meters = e.cached?.meters ?? this.meters.forType(e.type);
        meters.forEach((meter, i) => {
          const ent = this.catalog.entitlement(e.tenant, meter.slug);
          if (ent === undefined) return;
          const reading = e.cached ? e.cached.readings[i] : evaluateMeter(meter, e);
          if (reading === null || reading === undefined || isMeterProblem(reading)) return;
          const p = cachedPeriodAt(ent.period, e.time);
          const cur = this.periodNow(ent, now);
          if (p.start < cur.start) return;
          this.counters.add({ tenant: e.tenant, meter: ent.meter, period: p.start }, sign * (ent.aggregation === 'COUNT' ? SCALE : (reading.quantity ?? 0n)));
          if (p.start === cur.start) touched.set(`${e.tenant}\u0000${ent.meter}`, [e.tenant, ent]);
        });
      }
      for (const [tenant, ent] of touched.values()) this.snapshotOf(tenant, ent, now);
    } catch {
      this.feedErrors++;
    }
  };

  /** The tenant's standing on a meter now; NOT_FOUND when its plan has no such entitlement. */
  status(tenant: string, meter: string): Snapshot {
    const ent = this.catalog.entitlement(tenant, meter);
    if (ent === undefined) throw new TallyError('NOT_FOUND', `tenant "${tenant}" has no entitlement for meter "${meter}"`);
    return this.snapshotOf(tenant, ent, this.clock.nowMicros());
  }

  /** Every entitlement of the tenant's plan (empty without a plan). */
  list(tenant: string): { plan: string | null; data: Snapshot[] } {
    const plan = this.catalog.planOf(tenant);
    const now = this.clock.nowMicros();
    return { plan: plan?.id ?? null, data: (plan?.entitlements ?? []).map((e) => this.snapshotOf(tenant, e, now)) };
  }

  /** Reads the live counter and raises any warning it has reached. */
  snapshotOf(tenant: string, ent: Entitlement, now: EpochMicros): Snapshot {
    const p = this.periodNow(ent, now);
    const s = snapshot(tenant, ent, p, now, this.counters.usage({ tenant, meter: ent.meter, period: p.start }));
    this.warnings.check(s);
    return s;
  }

  /** The current period of an entitlement; on rollover, drops counters of ended periods. */
  periodNow(ent: Entitlement, now: EpochMicros): Period {
    const p = cachedPeriodAt(ent.period, now);
    const prev = this.currentStart.get(ent);
    if (prev !== p.start) {
      this.currentStart.set(ent, p.start);
      if (prev !== undefined && prev < p.start) this.forgetBefore(ent, prev, p.start);
    }
    return p;
  }

  private forgetBefore(ent: Entitlement, from: EpochMicros, to: EpochMicros): void {
    const tenants = this.catalog.plans.find((pl) => pl.id === ent.plan)?.tenants ?? [];
    // Counters exist at most for the period that was current and the one after it (early events).
    for (let start = from, i = 0; start < to && i < 2; start = periodAt(ent.period, start).end, i++) {
      for (const tenant of tenants) {
        this.counters.forget({ tenant, meter: ent.meter, period: start });
        this.warnings.forgetPeriod(tenant, ent.meter, start);
      }
    }
  }
}
