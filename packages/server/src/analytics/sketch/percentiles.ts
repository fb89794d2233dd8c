import { DDSketch } from '@datadog/sketches-js';

/** The percentiles analytics reports. */
export const PERCENTILES = [0.5, 0.9, 0.95, 0.99] as const;

/** Relative accuracy of the sketch: every reported value is within ±1 % of the exact one. */
export const RELATIVE_ACCURACY = 0.01;

/**
 * The exact percentile the sketch approximates: the value at 0-based rank ⌊q·(n−1)⌋ of the
 * sorted values (no interpolation, so it is always one of the values).
 */
export function exactPercentile<T>(sorted: readonly T[], q: number): T | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.floor(q * (sorted.length - 1))];
}

/**
 * A mergeable relative-error quantile sketch (DDSketch, Datadog's `@datadog/sketches-js`):
 * for any q, the answer v̂ satisfies |v̂ − v| ≤ α·|v| with v the exact value at rank
 * ⌊q·(n−1)⌋, whatever the distribution, in memory logarithmic in the value range. Sketches of
 * parts merge into the sketch of the whole (per tenant, per day…).
 */
export class PercentileSketch {
  private readonly sketch = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });

  add(value: number): void {
    this.sketch.accept(value);
  }

  merge(other: PercentileSketch): void {
    this.sketch.merge(other.sketch);
  }

  get count(): number {
    return this.sketch.count;
  }

  /** The estimate at q (undefined when empty). */
  at(q: number): number | undefined {
    return this.sketch.count === 0 ? undefined : this.sketch.getValueAtQuantile(q);
  }
}
