import { scanEffective, voidedKeys } from '../audit/corrections/effective-events.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import { MICROS_PER_DAY, type EpochMicros } from '../shared/time.ts';
import type { AggregateQuery, UsageStore } from '../store/port.ts';
import { integralToScaled, integrateSeries, sampleAfter, sortSamples, type Sample } from './time-weighted.ts';

/** One answer cell of a TIME_WEIGHTED_SUM query: the integral in the meter's time unit, ×10^12. */
export interface TimeWeightedRow {
  window: number;
  tenant: string | null;
  dims: (string | null)[];
  /** value × time unit, ×10^12, rounded half-even once per cell. */
  scaled: bigint;
}

interface Series {
  tenant: string;
  dims: (string | null)[];
  carry: Sample | undefined;
  samples: Sample[];
}

/**
 * Answers a TIME_WEIGHTED_SUM query exactly. The value a series holds when the range starts
 * (its carry-in) comes from the rollups: the series keeps each bucket's latest sample, so the
 * day rollups before the range's first UTC midnight give it in one grouped read, and the raw
 * events from that midnight on give the rest. The samples inside the range are the raw events
 * (without the ones a correction voided): a late sample changes how long its neighbours hold,
 * which no per-bucket partial state can absorb without re-reading them, so the integral is
 * always computed from the samples themselves, and late events count like any other.
 *
 * Integrals are per series (tenant and all dimensions), then summed into the asked groups, then
 * rounded once per cell.
 */
export async function timeWeighted(store: UsageStore, meter: Meter, q: AggregateQuery, boundaries: readonly EpochMicros[], now: EpochMicros): Promise<TimeWeightedRow[]> {
  const start = boundaries[0]!;
  const end = boundaries[boundaries.length - 1]!;
  const series = new Map<string, Series>();
  const seriesOf = (tenant: string, dims: (string | null)[]) => {
    const key = dims.length === 0 ? tenant : JSON.stringify([tenant, dims]);
    let s = series.get(key);
    if (!s) series.set(key, (s = { tenant, dims, carry: undefined, samples: [] }));
    return s;
  };
  const carryIn = (s: Series, sample: Sample) => {
    if (s.carry === undefined || sampleAfter(sample, s.carry)) s.carry = sample;
  };
  const midnight = Math.floor(start / MICROS_PER_DAY) * MICROS_PER_DAY;
  const type = meter.def.eventType;
  // Rollups do not retract a voided latest sample: with corrections before the midnight, the
  // carry-in is read from the raw events instead.
  const rawCarry = midnight > 0 && (await voidedKeys(store, type, 0, midnight, q.tenants)).size > 0;
  if (midnight > 0 && !rawCarry) {
    const all = meter.dimensions.map((_, i) => i);
    const latest: AggregateQuery = { meter: meter.series, from: 0, to: midnight, windows: { kind: 'uniform', origin: 0, width: midnight, count: 1 }, groupByTenant: true, groupDims: all, filters: q.filters, aggregation: 'LATEST' };
    if (q.tenants) latest.tenants = q.tenants;
    if (q.excludeTenants) latest.excludeTenants = q.excludeTenants;
    for (const row of await store.aggregate(latest, 'day')) {
      const l = row.components.latest;
      if (l !== null && row.components.count !== 0n) carryIn(seriesOf(row.tenant!, row.dims), { time: l.time, id: l.id, value: l.value });
    }
  }
  for await (const page of scanEffective(store, type, rawCarry ? 0 : midnight, end, q.tenants)) {
    for (const e of page) {
      if (q.excludeTenants?.includes(e.tenant)) continue; // hidden (canary) tenants, as in the rollup queries
      const r = evaluateMeter(meter, e);
      if (r === null || isMeterProblem(r) || r.quantity === undefined) continue;
      if (q.filters.some((f) => !f.values.includes(r.dims[f.dim] as string))) continue;
      const sample: Sample = { time: e.time, id: e.id, value: r.quantity };
      const s = seriesOf(e.tenant, r.dims);
      if (e.time < start) carryIn(s, sample);
      else s.samples.push(sample);
    }
  }
  const cells = new Map<string, { row: TimeWeightedRow; integral: bigint }>();
  const unit = meter.def.timeUnit ?? 'HOUR';
  for (const s of series.values()) {
    const parts = integrateSeries(s.carry, sortSamples(s.samples), boundaries, now);
    const tenant = q.groupByTenant ? s.tenant : null;
    const dims = q.groupDims.map((d) => s.dims[d] ?? null);
    for (const [window, part] of parts) {
      const key = JSON.stringify([window, tenant, dims]);
      const cell = cells.get(key);
      if (cell) cell.integral += part.integral;
      else cells.set(key, { row: { window, tenant, dims, scaled: 0n }, integral: part.integral });
    }
  }
  const out: TimeWeightedRow[] = [];
  for (const c of cells.values()) out.push({ ...c.row, scaled: integralToScaled(c.integral, unit) });
  return out;
}
