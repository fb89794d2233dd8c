import { TallyError } from '../errors/registry.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { formatScaled, SCALE } from '../shared/decimal.ts';
import { formatMicros, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import { HLL_STANDARD_ERROR, HyperLogLog } from './sketch/hll.ts';
import { exactPercentile, PERCENTILES, PercentileSketch, RELATIVE_ACCURACY } from './sketch/percentiles.ts';
import { SpaceSaving } from './sketch/space-saving.ts';
import { ratio } from './top.ts';

/** A range of one meter's raw events. */
export interface RawRange {
  meter: string;
  from: EpochMicros;
  to: EpochMicros;
  tenants?: string[] | undefined;
}

/** Exact percentiles keep every value in memory: above this many, ask for the sketch. */
export const MAX_EXACT_VALUES = 2_000_000;

function meterOf(meters: MeterRegistry, slug: string): Meter {
  const m = meters.get(slug);
  if (!m) throw new TallyError('NOT_FOUND', `no meter "${slug}"`);
  return m;
}

/** Every reading of the meter's raw events in the range (the batch layer reads raw events). */
async function* readings(store: UsageStore, meter: Meter, r: RawRange) {
  for await (const page of store.scanEvents(meter.def.eventType, r.from, r.to, r.tenants)) {
    for (const e of page) {
      const reading = evaluateMeter(meter, e);
      if (reading !== null && !isMeterProblem(reading)) yield reading;
    }
  }
}

/** A percentile answer: exact decimals from raw events, or the sketch's estimates with their bound. */
export interface PercentileAnswer {
  meter: string;
  from: string;
  to: string;
  /** Values seen (exact). */
  count: number;
  percentiles: { p50: string | null; p90: string | null; p95: string | null; p99: string | null };
  /** The value at rank ⌊q·(n−1)⌋ of the sorted values: no interpolation. */
  definition: string;
  approximate: boolean;
  /** For the sketch: every estimate is within ±relative × the exact value. */
  errorBound: { relative: number } | null;
}

/**
 * Percentiles of a valued meter (e.g. a latency) over raw events: exact (every value sorted,
 * bigint-exact) or, on request, a DDSketch with ±1 % relative error in bounded memory.
 */
export async function percentiles(store: UsageStore, meters: MeterRegistry, r: RawRange, approximate: boolean): Promise<PercentileAnswer> {
  const meter = meterOf(meters, r.meter);
  if (!meter.def.valueProperty || meter.def.aggregation === 'UNIQUE_COUNT') throw new TallyError('VALIDATION_FAILED', `meter "${r.meter}" has no numeric value (percentiles need a valueProperty)`);
  const keys = ['p50', 'p90', 'p95', 'p99'] as const;
  const base = { meter: r.meter, from: formatMicros(r.from), to: formatMicros(r.to), definition: 'value at rank floor(q*(n-1)) of the sorted values' };
  if (approximate) {
    const sketch = new PercentileSketch();
    for await (const x of readings(store, meter, r)) sketch.add(Number(x.quantity!) / Number(SCALE));
    const at = (q: number) => (sketch.count === 0 ? null : String(sketch.at(q)));
    return { ...base, count: sketch.count, percentiles: Object.fromEntries(keys.map((k, i) => [k, at(PERCENTILES[i]!)])) as PercentileAnswer['percentiles'], approximate: true, errorBound: { relative: RELATIVE_ACCURACY } };
  }
  const values: bigint[] = [];
  for await (const x of readings(store, meter, r)) {
    values.push(x.quantity!);
    if (values.length > MAX_EXACT_VALUES) throw new TallyError('VALIDATION_FAILED', `more than ${MAX_EXACT_VALUES} values in the range: narrow it or ask approximate=true (DDSketch, ±${RELATIVE_ACCURACY * 100} %)`);
  }
  values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const at = (q: number) => {
    const v = exactPercentile(values, q);
    return v === undefined ? null : formatScaled(v);
  };
  return { ...base, count: values.length, percentiles: Object.fromEntries(keys.map((k, i) => [k, at(PERCENTILES[i]!)])) as PercentileAnswer['percentiles'], approximate: false, errorBound: null };
}

/** An approximate distinct count, never used for billing or quotas. */
export interface UniquesAnswer {
  meter: string;
  from: string;
  to: string;
  estimate: number;
  approximate: true;
  errorBound: { standardError: number; within: number; confidence: number };
}

/**
 * Distinct values of a UNIQUE_COUNT meter over a range by HyperLogLog in 16 KiB, however many
 * there are (the exact count is the meter's own query). ±3 standard errors hold with 99.7 %.
 */
export async function approximateUniques(store: UsageStore, meters: MeterRegistry, r: RawRange): Promise<UniquesAnswer> {
  const meter = meterOf(meters, r.meter);
  if (meter.def.aggregation !== 'UNIQUE_COUNT') throw new TallyError('VALIDATION_FAILED', `meter "${r.meter}" is ${meter.def.aggregation}: approximate uniques count the values of a UNIQUE_COUNT meter`);
  const hll = new HyperLogLog();
  for await (const x of readings(store, meter, r)) if (x.unique !== undefined) hll.add(x.unique);
  return { meter: r.meter, from: formatMicros(r.from), to: formatMicros(r.to), estimate: hll.estimate(), approximate: true, errorBound: { standardError: HLL_STANDARD_ERROR, within: 3 * HLL_STANDARD_ERROR, confidence: 0.997 } };
}

/** A Space-Saving top-N answer. */
export interface ApproximateTopAnswer {
  meter: string;
  by: string;
  from: string;
  to: string;
  /** Exact total of the range (every event is read). */
  total: string;
  items: { rank: number; key: string | null; value: string; minValue: string; share: number; cumulativeShare: number }[];
  approximate: true;
  /** Every `value` overestimates the true one by at most `maxOverestimate` (≤ total / counters); `minValue` is a guaranteed lower bound. */
  errorBound: { maxOverestimate: string; counters: number };
}

/**
 * Top-N of a high-cardinality dimension (one that is not worth a rollup dimension, or a raw
 * property) from raw events with weighted Space-Saving: `counters` counters whatever the
 * cardinality, each value an overestimate by at most total / counters.
 */
export async function approximateTop(store: UsageStore, meters: MeterRegistry, r: RawRange & { by: string; limit: number; counters: number }): Promise<ApproximateTopAnswer> {
  const meter = meterOf(meters, r.meter);
  if (meter.def.aggregation !== 'COUNT' && meter.def.aggregation !== 'SUM') throw new TallyError('VALIDATION_FAILED', `top-N ranks shares of a total: meter "${r.meter}" is ${meter.def.aggregation}`);
  const dim = r.by === 'tenant' ? -1 : meter.dimensions.indexOf(r.by);
  if (r.by !== 'tenant' && dim < 0) throw new TallyError('VALIDATION_FAILED', `meter "${r.meter}" has no dimension "${r.by}"`);
  const ss = new SpaceSaving(Math.max(r.counters, r.limit));
  const NULL_KEY = '\u0000null';
  for await (const page of store.scanEvents(meter.def.eventType, r.from, r.to, r.tenants)) {
    for (const e of page) {
      const x = evaluateMeter(meter, e);
      if (x === null || isMeterProblem(x)) continue;
      ss.add(dim < 0 ? e.tenant : (x.dims[dim] ?? NULL_KEY), meter.def.aggregation === 'COUNT' ? SCALE : x.quantity!);
    }
  }
  const total = ss.totalWeight;
  let running = 0n;
  const items = ss.top(r.limit).map((it, i) => {
    running += it.count;
    return { rank: i + 1, key: it.key === NULL_KEY ? null : it.key, value: formatScaled(it.count), minValue: formatScaled(it.count - it.error), share: ratio(it.count, total), cumulativeShare: ratio(running < total ? running : total, total) };
  });
  return { meter: r.meter, by: r.by, from: formatMicros(r.from), to: formatMicros(r.to), total: formatScaled(total), items, approximate: true, errorBound: { maxOverestimate: formatScaled(ss.errorBound), counters: ss.capacity } };
}
