import { TallyError } from '../errors/registry.ts';
import type { JobDefinition } from '../jobs/job.ts';
import type { Entitlement } from '../quota/catalog.ts';
import type { Period } from '../quota/period.ts';
import type { QuotaService } from '../quota/quota-service.ts';
import type { Projection } from '../quota/status.ts';
import { SCALE } from '../shared/decimal.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, formatMicros, parseRfc3339, type Clock, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { ForecastService } from './forecast-service.ts';

/** Meta key holding the latest forecast curves (shared by every node of a distributed deployment). */
const META_KEY = 'quota_forecasts';
/** How long a node trusts the curves it loaded before reading the meta again. */
const RELOAD_MICROS = 60_000_000;
/** Days of history each forecast learns from (as `GET /v1/forecast`'s default). */
const HISTORY_DAYS = 28;

/** One tenant's hourly forecast of one meter, from `from` (a whole hour) on. */
export interface ForecastCurve {
  from: EpochMicros;
  hourly: number[];
  method: string;
  /** The shipped method's backtest sMAPE (%), for the answer's basis. */
  smape: number | null;
}

/**
 * Quota projections from the meter's forecast (issue #20): an entitlement's projected usage is
 * its exact usage so far plus the forecast usage for the rest of the period (Holt-Winters or the
 * seasonal naive baseline, whichever won its backtest), instead of the linear extrapolation. An
 * hourly job (`quota-forecasts`, through the job runner, once across nodes) forecasts every
 * (tenant, meter) with a day or month entitlement and usage in the last 28 days and stores the
 * curves in the store's meta, where every node reads them. Where no curve applies (hour periods,
 * entitlements with dimension filters, too little history, a curve that ends before the period)
 * the linear projection stays.
 */
export class QuotaForecasts {
  private curves = new Map<string, ForecastCurve>();
  private loadedAt = -Infinity;

  constructor(
    private readonly store: UsageStore,
    private readonly forecasts: ForecastService,
    private readonly queries: QueryService,
    private readonly quotas: QuotaService,
    private readonly clock: Clock,
  ) {}

  /** The entitlements a forecast can project: whole-meter day and month quotas. */
  private projectable(): Entitlement[] {
    const c = this.quotas.catalog;
    return [...c.plans, ...(c.defaultPlan ? [c.defaultPlan] : [])].flatMap((p) => p.entitlements).filter((e) => e.filter.length === 0 && (e.period.unit === 'day' || e.period.unit === 'month'));
  }

  /** Forecasts every projectable (tenant, meter) and stores the curves; returns counts for the job record. */
  async refresh(): Promise<{ forecasts: number; skipped: number }> {
    const now = this.clock.nowMicros();
    const ents = this.projectable();
    const curves: Record<string, ForecastCurve> = {};
    let skipped = 0;
    for (const meter of new Set(ents.map((e) => e.meter))) {
      const r = await this.queries.query({ meter, from: now - HISTORY_DAYS * MICROS_PER_DAY, to: now, groupBy: ['tenant'] });
      for (const tenant of r.data.map((d) => d.tenant!)) {
        const own = ents.filter((e) => e.meter === meter && this.quotas.catalog.entitlement(tenant, e.id) === e);
        if (own.length === 0) continue;
        // Far enough for the furthest period end of the tenant's entitlements on this meter.
        const until = Math.max(...own.map((e) => this.quotas.periodNow(e, now).end));
        const horizonHours = Math.max(1, Math.ceil((until - now) / MICROS_PER_HOUR) + 1);
        try {
          const f = await this.forecasts.forecast({ meter, tenant, horizonHours, window: 'hour', historyDays: HISTORY_DAYS, level: 0.8 });
          const shipped = f.method === f.backtest.baseline.method ? f.backtest.baseline : f.backtest.candidate;
          curves[key(tenant, meter)] = { from: parseRfc3339(f.historyTo)!, hourly: f.data.map((d) => d.value), method: f.method, smape: shipped.smape };
        } catch (err) {
          if (!(err instanceof TallyError && err.code === 'INSUFFICIENT_HISTORY')) throw err;
          skipped++;
        }
      }
    }
    await this.store.setMeta(META_KEY, JSON.stringify(curves));
    this.use(curves, now);
    return { forecasts: Object.keys(curves).length, skipped };
  }

  /** Reads the curves another node (or an earlier run) stored, at most once a minute. */
  async load(): Promise<void> {
    const now = this.clock.nowMicros();
    if (now - this.loadedAt < RELOAD_MICROS) return;
    const text = await this.store.getMeta(META_KEY);
    this.use(text === undefined ? {} : (JSON.parse(text) as Record<string, ForecastCurve>), now);
  }

  private use(curves: Record<string, ForecastCurve>, at: EpochMicros): void {
    this.curves = new Map(Object.entries(curves));
    this.loadedAt = at;
  }

  /**
   * usage + the forecast for [now, period end): each forecast hour counts for the part of it
   * that lies in that span. Undefined where the linear projection stays.
   */
  project(tenant: string, ent: Entitlement, period: Period, now: EpochMicros, usage: bigint): Projection | undefined {
    if (ent.filter.length > 0 || (ent.period.unit !== 'day' && ent.period.unit !== 'month')) return undefined;
    const c = this.curves.get(key(tenant, ent.meter));
    if (!c || c.from > now + MICROS_PER_HOUR || c.from + c.hourly.length * MICROS_PER_HOUR < period.end) return undefined;
    let rest = 0;
    c.hourly.forEach((v, i) => {
      const a = Math.max(now, c.from + i * MICROS_PER_HOUR);
      const b = Math.min(period.end, c.from + (i + 1) * MICROS_PER_HOUR);
      if (b > a) rest += Math.max(0, v) * ((b - a) / MICROS_PER_HOUR);
    });
    // The forecast is a float estimate: its share is rounded to 10^-6 before it joins the exact usage.
    const projected = usage + (BigInt(Math.round(rest * 1e6)) * SCALE) / 1_000_000n;
    return { projected, method: 'forecast', basis: `Forecast: the usage so far plus the ${c.method} forecast of the rest of the period (hourly forecast from ${formatMicros(c.from)}; backtest sMAPE ${c.smape === null ? 'n/a' : `${c.smape.toFixed(1)} %`}).` };
  }

  /** The hourly job that refreshes the curves (once across nodes, through the job runner). */
  job(): JobDefinition {
    return {
      name: 'quota-forecasts',
      description: 'forecasts each tenant-meter with a day or month quota, for forecast-based quota projections',
      schedule: '17 * * * *',
      rangeAt: (now) => formatMicros(Math.floor(now / MICROS_PER_HOUR) * MICROS_PER_HOUR).slice(0, 13),
      run: async () => this.refresh(),
    };
  }
}

function key(tenant: string, meter: string): string {
  return `${tenant}\u0000${meter}`;
}
