import { trafficShape, trendFactor, type TenantTrend } from '../demo/shape.ts';

const HOUR_MS = 3_600_000;

/** A seeded PRNG (mulberry32): the same seed gives the same series in tests and benches. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson draw (Knuth for small means, a rounded normal approximation above 50). */
function poisson(mean: number, rnd: () => number): number {
  if (mean <= 0) return 0;
  if (mean > 50) {
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const l = Math.exp(-mean);
  let k = 0;
  for (let p = rnd(); p > l; p *= rnd()) k++;
  return k;
}

/**
 * Hourly counts shaped like the demo's traffic (packages/server/src/demo/shape.ts: the
 * working-day curve, weekends at 35 %, the tenant's trend), with Poisson noise: what
 * `serve --demo` seeds, an hour at a time, for a history ending at `endMs`.
 */
export function demoShapedSeries(o: { hours: number; endMs: number; peakPerHour: number; trend: TenantTrend; seed: number }): number[] {
  const rnd = seededRandom(o.seed);
  const out: number[] = [];
  for (let i = o.hours; i > 0; i--) {
    const t = o.endMs - i * HOUR_MS + HOUR_MS / 2;
    out.push(poisson(o.peakPerHour * trafficShape(t) * trendFactor(o.trend, t, o.endMs), rnd));
  }
  return out;
}

/**
 * A generic series with a linear trend and daily + weekly seasonality (a sine per day, a
 * weekend dip) and Gaussian noise: the textbook case a seasonal method must win.
 */
export function trendSeasonalSeries(o: { hours: number; base: number; trendPerDay: number; dailyAmplitude: number; weekendFactor: number; noise: number; seed: number }): number[] {
  const rnd = seededRandom(o.seed);
  const out: number[] = [];
  for (let t = 0; t < o.hours; t++) {
    const day = Math.floor(t / 24);
    const level = o.base + (o.trendPerDay * t) / 24;
    const daily = 1 + o.dailyAmplitude * Math.sin((2 * Math.PI * ((t % 24) - 8)) / 24);
    const weekly = day % 7 >= 5 ? o.weekendFactor : 1;
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    out.push(Math.max(0, level * daily * weekly + o.noise * z));
  }
  return out;
}
