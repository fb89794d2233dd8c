import type { EventRecord } from '../events/event.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import type { EpochMicros } from '../shared/time.ts';
import { merge, single, type Components } from './components.ts';
import { RESOLUTIONS, bucketStart, type Resolution } from './resolution.ts';

/** One pre-aggregated rollup delta: add it to the bucket (meter, tenant, res, bucket, dims). */
export interface RollupDelta {
  meter: string;
  tenant: string;
  res: Resolution;
  bucket: EpochMicros;
  dimKey: string;
  dims: (string | null)[];
  c: Components;
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

/**
 * Turns newly stored events into rollup deltas for every resolution, pre-aggregated so the
 * store upserts each bucket once per batch. `metersFor` picks the meters of an event type.
 */
export function deriveRollups(events: readonly EventRecord[], metersFor: (type: string) => readonly Meter[]): DerivedRows {
  const deltas = new Map<string, RollupDelta>();
  const uniques: UniqueFact[] = [];
  let skipped = 0;
  for (const e of events) {
    for (const meter of metersFor(e.type)) {
      const r = evaluateMeter(meter, e);
      if (r === null) continue;
      if (isMeterProblem(r)) {
        skipped++;
        continue;
      }
      const dimKey = JSON.stringify(r.dims);
      if (r.unique !== undefined) {
        uniques.push({ meter: meter.slug, tenant: e.tenant, time: e.time, dimKey, dims: r.dims, value: r.unique });
      }
      for (const res of RESOLUTIONS) {
        const bucket = bucketStart(e.time, res);
        const key = `${meter.slug}\u0000${e.tenant}\u0000${res}\u0000${bucket}\u0000${dimKey}`;
        const c = single(r.quantity, e.time, e.id);
        const cur = deltas.get(key);
        if (cur) merge(cur.c, c);
        else deltas.set(key, { meter: meter.slug, tenant: e.tenant, res, bucket, dimKey, dims: r.dims, c });
      }
    }
  }
  return { rollups: [...deltas.values()], uniques, skipped };
}
