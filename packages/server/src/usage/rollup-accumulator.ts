import type { EventRecord } from '../events/event.ts';
import { evaluateMeter, isMeterProblem, type MeterProblem, type MeterReading } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import { CORRECTION_TYPE, correctedEvent } from '../audit/corrections/correction.ts';
import { merge, mergeOne, mergeRetraction, retraction, single } from './components.ts';
import type { RollupDelta, UniqueFact } from './derive-rollups.ts';
import { MICROS_PER_MINUTE } from '../shared/time.ts';
import { RESOLUTION_MICROS, type Resolution } from './resolution.ts';

/** Per resolution (in the accumulator's order): bucket number (start ÷ width, a small integer) → delta. */
type PerResolution = Map<number, RollupDelta>[];

/** A node of the dimension-key tree: the key of the dimension values on the path to it, and the longer paths. */
interface KeyNode {
  key: string | undefined;
  next: Map<string | null, KeyNode> | undefined;
}

/** Per list of an event type's meters: whether each is the first of its series (the others share its rows). */
const leaders = new WeakMap<readonly Meter[], boolean[]>();

function leadersOf(meters: readonly Meter[]): boolean[] {
  let l = leaders.get(meters);
  if (!l) leaders.set(meters, (l = meters.map((m, i) => meters.findIndex((o) => o.series === m.series) === i)));
  return l;
}

function readingsOf(e: EventRecord, meters: readonly Meter[]): readonly (MeterReading | MeterProblem | null)[] {
  if (e.cached && e.cached.meters === meters) return e.cached.readings;
  return meters.map((m) => evaluateMeter(m, e));
}

/**
 * Rollup deltas merged per (meter, tenant, dimensions, resolution, bucket): many events of a
 * busy minute become one delta. Looked up through nested maps keyed by the strings the events
 * already carry (no composite key is built per event and meter), numbers for buckets. The
 * embedded store keeps one open between flushes and derives every committed batch straight
 * into it; one-shot derivations use a fresh one.
 */
export class RollupAccumulator {
  private readonly index = new Map<string, Map<string, Map<string, PerResolution>>>();
  /** Distinct values seen: meter → tenant → minute number → dimension key → values. */
  private readonly facts = new Map<string, Map<string, Map<number, Map<string, Set<string>>>>>();
  private readonly deltas: RollupDelta[] = [];
  private readonly widths: number[];
  /** Dimension values → their key (the JSON array), one string per distinct list: no serialisation per event. */
  private readonly dimKeys: KeyNode = { key: '[]', next: undefined };

  constructor(readonly resolutions: readonly Resolution[]) {
    this.widths = resolutions.map((r) => RESOLUTION_MICROS[r]);
  }

  /** Deltas held. */
  get size(): number {
    return this.deltas.length;
  }

  /** The deltas (owned by the accumulator until it is dropped). */
  get rollups(): RollupDelta[] {
    return this.deltas;
  }

  private perResolution(meter: string, tenant: string, dimKey: string): PerResolution {
    let byTenant = this.index.get(meter);
    if (byTenant === undefined) this.index.set(meter, (byTenant = new Map()));
    let byDims = byTenant.get(tenant);
    if (byDims === undefined) byTenant.set(tenant, (byDims = new Map()));
    let perRes = byDims.get(dimKey);
    if (perRes === undefined) byDims.set(dimKey, (perRes = this.resolutions.map(() => new Map())));
    return perRes;
  }

  /** The dimension key of `dims` (JSON of the array), the same string each time. */
  private keyOf(dims: readonly (string | null)[]): string {
    let node = this.dimKeys;
    for (let i = 0; i < dims.length; i++) {
      const v = dims[i]!;
      let child = (node.next ??= new Map()).get(v);
      if (child === undefined) node.next.set(v, (child = { key: undefined, next: undefined }));
      node = child;
    }
    return (node.key ??= JSON.stringify(dims));
  }

  /** The values already seen for (meter, tenant, minute number, dimension key). */
  private factValues(meter: string, tenant: string, minute: number, dimKey: string): Set<string> {
    let byTenant = this.facts.get(meter);
    if (byTenant === undefined) this.facts.set(meter, (byTenant = new Map()));
    let byMinute = byTenant.get(tenant);
    if (byMinute === undefined) byTenant.set(tenant, (byMinute = new Map()));
    let byDims = byMinute.get(minute);
    if (byDims === undefined) byMinute.set(minute, (byDims = new Map()));
    let values = byDims.get(dimKey);
    if (values === undefined) byDims.set(dimKey, (values = new Set()));
    return values;
  }

  /** Registers a distinct-value fact (its time a minute start); false when it was already seen. */
  addFact(u: UniqueFact): boolean {
    const values = this.factValues(u.meter, u.tenant, Math.floor(u.time / MICROS_PER_MINUTE), u.dimKey);
    if (values.has(u.value)) return false;
    values.add(u.value);
    return true;
  }

  /** Merges a delta in, taking ownership of it; resolutions the accumulator does not keep are ignored. */
  addDelta(d: RollupDelta): void {
    const k = this.resolutions.indexOf(d.res);
    if (k < 0) return;
    const byBucket = this.perResolution(d.meter, d.tenant, d.dimKey)[k]!;
    const n = Math.floor(d.bucket / this.widths[k]!);
    const cur = byBucket.get(n);
    if (cur) merge(cur.c, d.c);
    else {
      byBucket.set(n, d);
      this.deltas.push(d);
    }
  }

  /**
   * Adds the rollup deltas of `events` (the meters of each event's type from `metersFor`) and
   * returns the UNIQUE_COUNT facts they carry that this accumulator had not seen yet (a fact's
   * time is its minute: distinct values are kept per minute) and how many readings a meter could
   * not take.
   */
  addEvents(events: readonly EventRecord[], metersFor: (type: string) => readonly Meter[]): { uniques: UniqueFact[]; skipped: number } {
    const uniques: UniqueFact[] = [];
    let skipped = 0;
    const resolutions = this.resolutions;
    const widths = this.widths;
    // Bucket numbers (start ÷ width) key the maps: small integers hash faster than microsecond starts.
    const buckets: number[] = new Array(resolutions.length);
    for (const stored of events) {
      // A correction retracts the event it voids (a copy it carries) from the same buckets.
      let e = stored;
      let retract = false;
      if (stored.type === CORRECTION_TYPE) {
        const voided = correctedEvent(stored);
        if (voided === undefined) continue;
        e = voided;
        retract = true;
      }
      const meters = metersFor(e.type);
      if (meters.length === 0) continue;
      const readings = readingsOf(e, meters);
      const leader = leadersOf(meters);
      for (let k = 0; k < widths.length; k++) buckets[k] = Math.floor(e.time / widths[k]!);
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
        // A meter sharing an earlier meter's series reads the same: that one counted it.
        if (!leader[m]) continue;
        if (r.dims !== prevDims && !sameDims(r.dims, prevDims)) {
          prevDims = r.dims;
          prevKey = this.keyOf(r.dims);
        }
        const dimKey = prevKey;
        if (r.unique !== undefined) {
          // Distinct values cannot be retracted from facts: UNIQUE_COUNT answers over ranges
          // holding corrections are computed from raw events (QueryService).
          if (retract) continue;
          // UNIQUE_COUNT is answered from the facts alone: no rollup rows for it.
          const minute = Math.floor(e.time / MICROS_PER_MINUTE);
          const values = this.factValues(meter.slug, e.tenant, minute, dimKey);
          if (!values.has(r.unique)) {
            values.add(r.unique);
            uniques.push({ meter: meter.slug, tenant: e.tenant, time: minute * MICROS_PER_MINUTE, dimKey, dims: r.dims, value: r.unique });
          }
          continue;
        }
        const kept = meter.kept;
        const perRes = this.perResolution(meter.series, e.tenant, dimKey);
        for (let k = 0; k < buckets.length; k++) {
          const n = buckets[k]!;
          const byBucket = perRes[k]!;
          const cur = byBucket.get(n);
          if (cur) {
            if (retract) mergeRetraction(cur.c, r.quantity, kept);
            else mergeOne(cur.c, r.quantity, e.time, e.id, kept);
          } else {
            const c = retract ? retraction(r.quantity, kept) : single(r.quantity, e.time, e.id, kept);
            const delta: RollupDelta = { meter: meter.series, tenant: e.tenant, res: resolutions[k]!, bucket: n * widths[k]!, dimKey, dims: r.dims, c };
            byBucket.set(n, delta);
            this.deltas.push(delta);
          }
        }
      }
    }
    return { uniques, skipped };
  }
}

function sameDims(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
