import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HLL_STANDARD_ERROR, HyperLogLog } from './hll.ts';
import { exactPercentile, PERCENTILES, PercentileSketch, RELATIVE_ACCURACY } from './percentiles.ts';
import { SpaceSaving } from './space-saving.ts';

/** A deterministic generator (mulberry32): the 1 M-value tests are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('analytics sketches hold their stated error bounds', () => {
  it('DDSketch: p50/p90/p95/p99 of 1 M latency-like values within ±1 % of the exact rank values, and merging parts equals the whole', () => {
    const r = rng(19);
    const values = new Float64Array(1_000_000);
    // Log-normal latencies (ms) with a heavy tail and some exact zeros.
    for (let i = 0; i < values.length; i++) values[i] = i % 997 === 0 ? 0 : Math.exp(3 + 1.2 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r()));
    const whole = new PercentileSketch();
    const parts = [new PercentileSketch(), new PercentileSketch(), new PercentileSketch()];
    values.forEach((v, i) => {
      whole.add(v);
      parts[i % 3]!.add(v);
    });
    parts[0]!.merge(parts[1]!);
    parts[0]!.merge(parts[2]!);
    const sorted = Float64Array.from(values).sort();
    for (const q of [...PERCENTILES, 0, 0.001, 0.999, 1]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      const est = whole.at(q)!;
      expect(Math.abs(est - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * Math.abs(exact) + 1e-9);
      expect(parts[0]!.at(q)).toBe(est);
    }
    expect(whole.count).toBe(1_000_000);
  }, 300_000);

  it('DDSketch: within ±1 % on random small streams too (negative values included)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, q) => {
        const s = new PercentileSketch();
        xs.forEach((x) => s.add(x));
        const exact = exactPercentile([...xs].sort((a, b) => a - b), q)!;
        expect(Math.abs(s.at(q)! - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * Math.abs(exact) + 1e-9);
      }),
    );
  });

  it('HyperLogLog: 1 M distinct values estimated within 3 standard errors (≈ 2.4 %), and merging parts equals the whole', () => {
    const whole = new HyperLogLog();
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 1_000_000; i++) {
      const v = `user-${i}`;
      whole.add(v);
      (i % 2 ? a : b).add(v);
      if (i % 10 === 0) whole.add(v); // repeats do not count
    }
    a.merge(b);
    const est = whole.estimate();
    expect(Math.abs(est - 1_000_000) / 1_000_000).toBeLessThanOrEqual(3 * HLL_STANDARD_ERROR);
    expect(a.estimate()).toBe(est);
    const small = new HyperLogLog();
    for (let i = 0; i < 1000; i++) small.add(`k${i % 500}`);
    expect(Math.abs(small.estimate() - 500)).toBeLessThanOrEqual(500 * 3 * HLL_STANDARD_ERROR);
  }, 300_000); // 2 M MD5 hashes: about 20 s alone, several times that on a loaded machine

  it('Space-Saving: every reported count overestimates by at most its error ≤ total/capacity, and no heavier key is missed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }).map((k) => `k${Math.floor(k * k / 60)}`), fc.bigInt({ min: 1n, max: 1000n })), { maxLength: 400 }), fc.integer({ min: 1, max: 20 }), (stream, cap) => {
        const ss = new SpaceSaving(cap);
        const exact = new Map<string, bigint>();
        for (const [k, w] of stream) {
          ss.add(k, w);
          exact.set(k, (exact.get(k) ?? 0n) + w);
        }
        const total = [...exact.values()].reduce((s, v) => s + v, 0n);
        expect(ss.totalWeight).toBe(total);
        const reported = ss.top(cap);
        for (const it of reported) {
          const truth = exact.get(it.key)!;
          expect(it.count >= truth && it.count - it.error <= truth).toBe(true);
          expect(it.error <= ss.errorBound).toBe(true);
        }
        const keys = new Set(reported.map((r) => r.key));
        for (const [k, v] of exact) if (v > ss.errorBound) expect(keys.has(k)).toBe(true);
      }),
    );
  });
});
