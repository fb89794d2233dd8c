import { TallyError } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, formatMicros, parseRfc3339, type Clock, type EpochMicros } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import { forecastSeries, InsufficientHistory, type MethodScore } from './forecast.ts';

/** Aggregations whose hourly values add up to a day's (the others forecast hourly only). */
const ADDITIVE = new Set(['COUNT', 'SUM', 'TIME_WEIGHTED_SUM']);

/** A forecast question. */
export interface ForecastQuery {
  meter: string;
  tenant?: string;
  horizonHours: number;
  window: 'hour' | 'day';
  /** Days of history to learn from. */
  historyDays: number;
  level: number;
  threshold?: number;
}

/** One forecast window with its interval. */
export interface ForecastWindow {
  windowStart: string;
  windowEnd: string;
  value: number;
  lower: number | null;
  upper: number | null;
}

/** The API's forecast answer. */
export interface ForecastAnswer {
  meter: string;
  tenant: string | null;
  unit: string | null;
  aggregation: string;
  approximate: true;
  historyFrom: string;
  historyTo: string;
  window: 'hour' | 'day';
  method: string;
  reason: string;
  backtest: { origins: number; seasonHours: number; candidate: MethodScore; baseline: MethodScore };
  interval: { level: number; basis: string };
  data: ForecastWindow[];
  threshold: { value: number; at: string | null; earliest: string | null; latest: string | null; basis: string } | null;
}

/**
 * Forecasts a meter's usage (per tenant or in total) from its hourly rollups, read through the
 * QueryService so the numbers are the query API's. Day windows are UTC days of summed hourly
 * forecasts; the history ends at the last whole hour (whole UTC day for day windows).
 */
export class ForecastService {
  constructor(
    private readonly queries: QueryService,
    private readonly meters: MeterRegistry,
    private readonly clock: Clock,
  ) {}

  async forecast(q: ForecastQuery): Promise<ForecastAnswer> {
    const meter = this.meters.get(q.meter);
    if (!meter) throw new TallyError('NOT_FOUND', `no meter "${q.meter}"`);
    if (q.window === 'day' && !ADDITIVE.has(meter.def.aggregation)) throw new TallyError('VALIDATION_FAILED', `window=day sums hourly values, which means nothing for ${meter.def.aggregation}; use window=hour`, [{ path: 'query.window', message: `not for ${meter.def.aggregation}` }]);
    const unit = q.window === 'day' ? MICROS_PER_DAY : MICROS_PER_HOUR;
    const to = Math.floor(this.clock.nowMicros() / unit) * unit;
    const series = await this.hourly(q.meter, q.tenant, to - q.historyDays * MICROS_PER_DAY, to);
    let f;
    try {
      f = forecastSeries(series.values, { horizonHours: q.horizonHours, windowHours: q.window === 'day' ? 24 : 1, level: q.level, ...(q.threshold !== undefined ? { threshold: q.threshold } : {}) });
    } catch (err) {
      if (err instanceof InsufficientHistory) throw new TallyError('INSUFFICIENT_HISTORY', `meter "${q.meter}"${q.tenant ? ` for tenant "${q.tenant}"` : ''}: ${err.message}`, { hours: series.values.length });
      throw err;
    }
    const step = q.window === 'day' ? MICROS_PER_DAY : MICROS_PER_HOUR;
    const at = (offset: number | null) => (offset === null ? null : formatMicros(to + offset * step));
    return {
      meter: q.meter,
      tenant: q.tenant ?? null,
      unit: meter.def.unit ?? null,
      aggregation: meter.def.aggregation,
      approximate: true,
      historyFrom: formatMicros(series.from),
      historyTo: formatMicros(to),
      window: q.window,
      method: f.method,
      reason: f.reason,
      backtest: { origins: f.origins, seasonHours: f.seasonHours, candidate: f.candidate, baseline: f.baseline },
      interval: { level: q.level, basis: f.interval },
      data: f.points.map((p) => ({ windowStart: formatMicros(to + p.offset * step), windowEnd: formatMicros(to + (p.offset + 1) * step), value: p.value, lower: p.lower, upper: p.upper })),
      threshold: f.threshold && {
        value: f.threshold.value,
        at: at(f.threshold.offset),
        earliest: at(f.threshold.earliest),
        latest: at(f.threshold.latest),
        basis: `the first ${q.window} whose point forecast (at), upper bound (earliest) or lower bound (latest) exceeds the threshold within the horizon; null: not within it`,
      },
    };
  }

  /** Hourly values in [from, to), zeros where nothing was used, starting at the first hour with usage. */
  private async hourly(meter: string, tenant: string | undefined, from: EpochMicros, to: EpochMicros): Promise<{ from: EpochMicros; values: number[] }> {
    const r = await this.queries.query({ meter, from, to, windowSize: 'HOUR', ...(tenant ? { tenants: [tenant] } : {}) });
    const n = Math.round((to - from) / MICROS_PER_HOUR);
    const values = new Array<number>(n).fill(0);
    let first = n;
    for (const row of r.data) {
      const i = Math.round((parseRfc3339(row.windowStart)! - from) / MICROS_PER_HOUR);
      const v = row.value === null ? 0 : Number(row.value);
      values[i] = (values[i] ?? 0) + v;
      if (v !== 0 && i < first) first = i;
    }
    // Hours before the meter saw anything are not "zero usage": the tenant did not exist yet.
    return { from: from + first * MICROS_PER_HOUR, values: first === n ? [] : values.slice(first) };
  }
}
