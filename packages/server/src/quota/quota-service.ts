import { correctedEvent } from '../audit/corrections/correction.ts';
import type { EventRecord } from '../events/event.ts';
import { eventKey } from '../events/event.ts';
import { TallyError } from '../errors/registry.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { parseQuantity, SCALE } from '../shared/decimal.ts';
import type { Clock, EpochMicros } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import { passes, type Entitlement, type PlanCatalog } from './catalog.ts';
import type { CounterItem, CounterKey, QuotaCounters } from './counters.ts';
import { cachedPeriodAt, periodAt, type Period } from './period.ts';
import { snapshot, type Projector, type Snapshot } from './status.ts';
import type { TimeWeightedUsage } from './time-weighted-usage.ts';
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
  private readonly feeding = new Set<Promise<void>>();
  /** Forecast-based projections (set by the capacity domain); without one, projections are linear. */
  projector?: Projector;
  /** Runs before a status read (the capacity domain reloads forecast curves other nodes stored). */
  beforeRead?: () => Promise<void>;
  /** Usage of TIME_WEIGHTED_SUM entitlements (integrated by the query service; no live counter). */
  timeWeighted?: TimeWeightedUsage;
  /** Tenants on the default plan seen so far (their counters are dropped at rollover too). */
  private readonly defaultTenants = new Set<string>();

  constructor(
    /** Replaced as a whole when run-time overrides change (`overrides/`). */
    public catalog: PlanCatalog,
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
  async seed(queries: QueryService, opts: { raiseOnly?: boolean } = {}): Promise<void> {
    const now = this.clock.nowMicros();
    for (const plan of this.catalog.plans) {
      const isDefault = plan === this.catalog.defaultPlan;
      if (plan.tenants.length === 0 && !isDefault) continue;
      for (const ent of plan.entitlements) {
        if (ent.aggregation === 'TIME_WEIGHTED_SUM') continue; // integrated on read, no counter
        const cur = this.periodNow(ent, now);
        for (const p of [cur, periodAt(ent.period, cur.end)]) {
          const filterGroupBy = Object.fromEntries(ent.filter.map((f) => [f.name, [...f.values]]));
          // The default plan covers every tenant the config does not list: one query over all tenants.
          const r = await queries.query({ meter: ent.meter, from: p.start, to: p.end, ...(isDefault ? {} : { tenants: [...plan.tenants] }), groupBy: ['tenant'], ...(ent.filter.length > 0 ? { filterGroupBy } : {}) });
          for (const row of r.data) {
            const usage = parseQuantity(row.value ?? '0');
            if (row.tenant === null || (isDefault && this.catalog.listed(row.tenant) && !plan.tenants.includes(row.tenant))) continue;
            if (isDefault) this.defaultTenants.add(row.tenant);
            if (typeof usage === 'bigint') await (opts.raiseOnly ? this.counters.raise : this.counters.set).call(this.counters, { tenant: row.tenant, meter: ent.id, period: p.start }, usage);
          }
        }
      }
    }
  }

  /**
   * Every tenant with entitlements: those the catalog lists (config and run-time overrides) and
   * those the default plan has counted so far.
   */
  tenantsWithPlans(): string[] {
    return [...new Set([...this.catalog.plans.flatMap((p) => p.tenants), ...this.defaultTenants])].sort();
  }

  /** Raises one tenant's counters of its current plan to the rollups (after a plan change at run time). */
  async seedTenant(queries: QueryService, tenant: string): Promise<void> {
    const now = this.clock.nowMicros();
    for (const ent of this.catalog.planOf(tenant)?.entitlements ?? []) {
      if (ent.aggregation === 'TIME_WEIGHTED_SUM') continue;
      const cur = this.periodNow(ent, now);
      for (const p of [cur, periodAt(ent.period, cur.end)]) {
        const filterGroupBy = Object.fromEntries(ent.filter.map((f) => [f.name, [...f.values]]));
        const r = await queries.query({ meter: ent.meter, from: p.start, to: p.end, tenants: [tenant], groupBy: ['tenant'], ...(ent.filter.length > 0 ? { filterGroupBy } : {}) });
        const usage = parseQuantity(r.data[0]?.value ?? '0');
        if (typeof usage === 'bigint') await this.counters.raise({ tenant, meter: ent.id, period: p.start }, usage);
      }
    }
  }

  /** The `onAccepted` listener: adds stored events to the live counters (never throws into ingest). */
  readonly feed = (events: readonly EventRecord[]): void => {
    try {
      const now = this.clock.nowMicros();
      const touched = new Map<string, [string, Entitlement]>();
      const deltas: (CounterKey & { delta: bigint })[] = [];
      for (const stored of events) {
        // A correction takes the event it voids back out of the counters.
        const voided = correctedEvent(stored);
        const e = voided ?? stored;
        const sign = voided ? -1n : 1n;
        if (this.catalog.planOf(e.tenant) === undefined || (e.source === QUOTA_SOURCE && this.reserved.get(eventKey(e.tenant, e.id)) === e.time)) continue;
        const meters = e.cached?.meters ?? this.meters.forType(e.type);
        meters.forEach((meter, i) => {
          const ents = this.catalog.entitlementsOn(e.tenant, meter.slug);
          if (ents.length === 0) return;
          const reading = e.cached ? e.cached.readings[i] : evaluateMeter(meter, e);
          if (reading === null || reading === undefined || isMeterProblem(reading)) return;
          for (const ent of ents) {
            if (!passes(ent, reading.dims)) continue;
            if (ent.aggregation === 'TIME_WEIGHTED_SUM') {
              // A sample (even a late one) changes the integral: the next read integrates again.
              this.timeWeighted?.invalidate(e.tenant);
              continue;
            }
            const p = cachedPeriodAt(ent.period, e.time);
            const cur = this.periodNow(ent, now);
            if (p.start < cur.start) continue;
            if (ent.plan === this.catalog.defaultPlan?.id && !this.catalog.listed(e.tenant)) this.defaultTenants.add(e.tenant);
            deltas.push({ tenant: e.tenant, meter: ent.id, period: p.start, delta: sign * (ent.aggregation === 'COUNT' ? SCALE : (reading.quantity ?? 0n)) });
            if (p.start === cur.start) touched.set(`${e.tenant}\u0000${ent.id}`, [e.tenant, ent]);
          }
        });
      }
      if (deltas.length === 0) return;
      const p = this.counters
        .add(deltas)
        .then(() => Promise.all([...touched.values()].map(([tenant, ent]) => this.snapshotOf(tenant, ent, now))))
        .then(
          () => undefined,
          () => void this.feedErrors++,
        )
        .finally(() => this.feeding.delete(p));
      this.feeding.add(p);
    } catch {
      this.feedErrors++;
    }
  };

  /** Waits for feed updates in flight (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.feeding.size > 0) await Promise.all([...this.feeding]);
  }

  /** The tenant's standing on an entitlement (by id; by default its meter) now; NOT_FOUND without one. */
  async status(tenant: string, id: string): Promise<Snapshot> {
    const ent = this.catalog.entitlement(tenant, id);
    if (ent === undefined) throw new TallyError('NOT_FOUND', `tenant "${tenant}" has no entitlement "${id}" (an entitlement id, by default its meter)`);
    await this.settle();
    await this.beforeRead?.();
    return this.snapshotOf(tenant, ent, this.clock.nowMicros());
  }

  /** Every entitlement of the tenant's plan (empty without a plan). */
  async list(tenant: string): Promise<{ plan: string | null; data: Snapshot[] }> {
    const plan = this.catalog.planOf(tenant);
    const now = this.clock.nowMicros();
    await this.settle();
    await this.beforeRead?.();
    return { plan: plan?.id ?? null, data: await Promise.all((plan?.entitlements ?? []).map((e) => this.snapshotOf(tenant, e, now))) };
  }

  /** Reads the live counter and raises any warning it has reached. */
  async snapshotOf(tenant: string, ent: Entitlement, now: EpochMicros): Promise<Snapshot> {
    const p = this.periodNow(ent, now);
    const [usage] = ent.aggregation === 'TIME_WEIGHTED_SUM' ? [await this.timeWeightedUsage(tenant, ent, p)] : await this.counters.usages([{ tenant, meter: ent.id, period: p.start }]);
    const s = snapshot(tenant, ent, p, now, usage!, this.projector);
    this.warnings.check(s);
    return s;
  }

  private timeWeightedUsage(tenant: string, ent: Entitlement, p: Period): Promise<bigint> {
    if (this.timeWeighted === undefined) throw new TallyError('INTERNAL', `entitlement "${ent.id}" is TIME_WEIGHTED_SUM but no query service was wired to integrate it`);
    return this.timeWeighted.usage(tenant, ent, p);
  }

  /** The counter item of consuming `amount` on `ent` at `now` (with the next period, for a boundary). */
  itemOf(tenant: string, ent: Entitlement, amount: bigint, now: EpochMicros): CounterItem {
    const p = this.periodNow(ent, now);
    if (ent.plan === this.catalog.defaultPlan?.id && !this.catalog.listed(tenant)) this.defaultTenants.add(tenant);
    return { tenant, meter: ent.id, period: p.start, next: { period: p.end, at: p.end }, limit: ent.limit, amount, hard: ent.hard, mode: ent.mode, failurePolicy: ent.failurePolicy };
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
    // Overrides give a tenant its own copy of a plan: every plan holding this entitlement counts.
    const listed = this.catalog.plans.filter((pl) => pl.entitlements.includes(ent)).flatMap((pl) => pl.tenants);
    const tenants = ent.plan === this.catalog.defaultPlan?.id ? [...listed, ...this.defaultTenants] : listed;
    // Counters exist at most for the period that was current and the one after it (early events).
    for (let start = from, i = 0; start < to && i < 2; start = periodAt(ent.period, start).end, i++) {
      for (const tenant of tenants) {
        this.counters.forget({ tenant, meter: ent.id, period: start }).catch(() => undefined);
        this.warnings.forgetPeriod(tenant, ent.id, start);
      }
    }
  }
}
