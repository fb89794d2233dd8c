import type { EventRecord } from '../events/event.ts';
import { evaluateMeter, isMeterProblem, type MeterReading, type MeterProblem } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import type { EpochMicros } from '../shared/time.ts';
import { mergeOne, single, type Components } from './components.ts';
import { RESOLUTIONS, RESOLUTION_MICROS, type Resolution } from './resolution.ts';

/** One pre-aggregated rollup delta: add it to the bucket (meter, tenant, res, bucket, dims). */
export interface RollupDelta {
  meter: string;
  tenant: string;
  res: Resolution;
  bucket: EpochMicros;
  dimKey: string;
  dims: (string | null)[];
  c: Components;
  /** Identity of the bucket (meter, tenant, dimensions, resolution, bucket), unique per delta. */
  key?: string;
}

/** One distinct-value fact for a UNIQUE_COUNT meter (kept per event so distinctness stays exact). */
export interface UniqueFact {
  meter: string;
  tenant: string;
  time: EpochMicros;
  dimKey: string;
  dims: (string | null)[];
  value: string;
}

/** Everything the store writes besides the raw events. */
export interface DerivedRows {
  rollups: RollupDelta[];
  uniques: UniqueFact[];
  /** Events a meter could not read (only possible in a backfill over history). */
  skipped: number;
}

function readingsOf(e: EventRecord, meters: readonly Meter[]): readonly (MeterReading | MeterProblem | null)[] {
  if (e.cached && e.cached.meters === meters) return e.cached.readings;
  return meters.map((m) => evaluateMeter(m, e));
}

/**
 * Turns newly stored events into rollup deltas, pre-aggregated so the store writes each
 * bucket once per batch. `metersFor` picks the meters of an event type; `resolutions` are
 * the ones the store wants written (a store may derive coarser ones itself, as DuckDB does).
 */
export function deriveRollups(events: readonly EventRecord[], metersFor: (type: string) => readonly Meter[], resolutions: readonly Resolution[] = RESOLUTIONS): DerivedRows {
  // (meter, tenant, dimensions) → per resolution, bucket → delta: one string key per event and
  // meter, numeric lookups per resolution, and a delta's own key built only when it is created.
  const series = new Map<string, Map<number, RollupDelta>[]>();
  const rollups: RollupDelta[] = [];
  const uniques: UniqueFact[] = [];
  let skipped = 0;
  const buckets: number[] = [];
  for (const e of events) {
    const meters = metersFor(e.type);
    if (meters.length === 0) continue;
    const readings = readingsOf(e, meters);
    for (let k = 0; k < resolutions.length; k++) {
      const w = RESOLUTION_MICROS[resolutions[k]!];
      buckets[k] = Math.floor(e.time / w) * w;
    }
    // Meters of one event type often group by the same paths: reuse the previous dimension key.
    let prevDims: readonly (string | null)[] = [];
    let prevKey = '[]';
    for (let m = 0; m < meters.length; m++) {
      const r = readings[m];
      if (r === null || r === undefined) continue;
      if (isMeterProblem(r)) {
        skipped++;
        continue;
      }
      const meter = meters[m]!;
      if (!sameDims(r.dims, prevDims)) {
        prevDims = r.dims;
        prevKey = r.dims.length === 0 ? '[]' : JSON.stringify(r.dims);
      }
      const dimKey = prevKey;
      if (r.unique !== undefined) {
        // UNIQUE_COUNT is answered from the facts alone: no rollup rows to write for it.
        uniques.push({ meter: meter.slug, tenant: e.tenant, time: e.time, dimKey, dims: r.dims, value: r.unique });
        continue;
      }
      const aggregation = meter.def.aggregation;
      const base = `${meter.slug}\u0000${e.tenant}\u0000${dimKey}\u0000`;
      let perRes = series.get(base);
      if (perRes === undefined) series.set(base, (perRes = resolutions.map(() => new Map<number, RollupDelta>())));
      for (let k = 0; k < resolutions.length; k++) {
        const bucket = buckets[k]!;
        const byBucket = perRes[k]!;
        const cur = byBucket.get(bucket);
        if (cur) mergeOne(cur.c, r.quantity, e.time, e.id, aggregation);
        else {
          const res = resolutions[k]!;
          const delta: RollupDelta = { meter: meter.slug, tenant: e.tenant, res, bucket, dimKey, dims: r.dims, c: single(r.quantity, e.time, e.id, aggregation), key: `${base}${res}${bucket}` };
          byBucket.set(bucket, delta);
          rollups.push(delta);
        }
      }
    }
  }
  return { rollups, uniques, skipped };
}

function sameDims(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
