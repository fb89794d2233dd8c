import type { TimeUnit } from '../meters/meter.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, type EpochMicros } from '../shared/time.ts';

/**
 * TIME_WEIGHTED_SUM: the integral of a sampled gauge over time (storage GB → GB-hours). A
 * series is one tenant and one set of dimension values; each sample's value holds from its time
 * until the series' next sample (samples ordered by time, then event id, as LATEST orders them),
 * and the last sample holds until the end of the asked range, but never past "now" (usage that
 * has not happened yet is not counted). The pure part lives here; `time-weighted-query.ts` reads
 * the samples from a store.
 */

/** One sample of one series: its value ×10^12 at `time` (ordered by time, then id). */
export interface Sample {
  readonly time: EpochMicros;
  readonly id: string;
  readonly value: bigint;
}

/** Microseconds per time unit. */
export const TIME_UNIT_MICROS: Record<TimeUnit, bigint> = {
  SECOND: 1_000_000n,
  MINUTE: BigInt(MICROS_PER_MINUTE),
  HOUR: BigInt(MICROS_PER_HOUR),
  DAY: BigInt(MICROS_PER_DAY),
};

/** True when sample `a` comes after `b` (time, then event id: a total, deterministic order). */
export function sampleAfter(a: Sample, b: Sample): boolean {
  return a.time > b.time || (a.time === b.time && a.id > b.id);
}

/** Sorts samples in holding order (in place) and returns them. */
export function sortSamples(samples: Sample[]): Sample[] {
  return samples.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What one series contributes to one window: the integral (value ×10^12 × µs) and its sample count. */
export interface WindowPart {
  integral: bigint;
  samples: number;
}

/**
 * Integrates one series over the windows `boundaries` (sorted; window i is [b[i], b[i+1])).
 * `carry` is the series' last sample before `boundaries[0]` (undefined: none), `samples` its
 * samples inside the range in holding order, `horizon` the instant after which nothing is held
 * (now). Returns the windows the series held a value in or sampled in, by window index.
 */
export function integrateSeries(carry: Sample | undefined, samples: readonly Sample[], boundaries: readonly EpochMicros[], horizon: EpochMicros): Map<number, WindowPart> {
  const parts = new Map<number, WindowPart>();
  const start = boundaries[0]!;
  const end = boundaries[boundaries.length - 1]!;
  const part = (w: number) => {
    let p = parts.get(w);
    if (!p) parts.set(w, (p = { integral: 0n, samples: 0 }));
    return p;
  };
  // Window pointer: intervals come in time order, so the window search only moves forward.
  let w = 0;
  const hold = (value: bigint, from: EpochMicros, until: EpochMicros) => {
    let a = Math.max(from, start);
    const b = Math.min(until, end, Math.max(horizon, start));
    while (a < b) {
      while (boundaries[w + 1]! <= a) w++;
      const e = Math.min(b, boundaries[w + 1]!);
      part(w).integral += value * BigInt(e - a);
      a = e;
    }
  };
  const held: Sample[] = carry === undefined ? [...samples] : [carry, ...samples];
  for (let i = 0; i < held.length; i++) {
    const s = held[i]!;
    hold(s.value, s.time, i + 1 < held.length ? held[i + 1]!.time : end);
  }
  // A window holding a sample has a row even when the value held in it integrates to nothing.
  let k = 0;
  for (const s of samples) {
    while (boundaries[k + 1]! <= s.time) k++;
    part(k).samples++;
  }
  return parts;
}

/**
 * value ×10^12 × µs → value ×10^12 × unit, rounded half-even to the 12 fractional digits of a
 * quantity (an hour is 3.6·10^9 µs, so the quotient need not terminate).
 */
export function integralToScaled(integral: bigint, unit: TimeUnit): bigint {
  return divHalfEven(integral, TIME_UNIT_MICROS[unit]);
}

/** n / d rounded half to even, for d > 0 and any sign of n. */
export function divHalfEven(n: bigint, d: bigint): bigint {
  let q = n / d;
  let r = n % d;
  // BigInt division truncates toward zero: make the remainder non-negative first.
  if (r < 0n) {
    q -= 1n;
    r += d;
  }
  const twice = 2n * r;
  if (twice > d || (twice === d && q % 2n !== 0n)) q += 1n;
  return q;
}
