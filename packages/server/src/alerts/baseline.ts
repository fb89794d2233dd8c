import type { AnomalyParams } from './rule.ts';

/** The Gaussian consistency constant: 1.4826 × MAD estimates σ for normal data. */
export const MAD_TO_SIGMA = 1.4826;

/** Fewest past weeks a baseline is judged on. */
export const MIN_WEEKS = 3;

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median and median absolute deviation of the baseline samples. */
export function robustBaseline(xs: readonly number[]): { median: number; mad: number } {
  const m = median(xs);
  return { median: m, mad: median(xs.map((x) => Math.abs(x - m))) };
}

/** What the judge decided, with the numbers it decided on (approximate: floating point statistics). */
export interface Judgement {
  fires: boolean;
  /** False when the baseline median is below `minBaseline` (the tenant is not normally active). */
  watched: boolean;
  observed: number;
  median: number;
  mad: number;
  /** The bound the observation crossed or stayed within. */
  bound: number;
}

/**
 * Seasonal anomaly test (docs/alerts.md): `history` holds the same window (hour of day, day of
 * week) of each past week. Drop: observed < median − k·σ̂ and ≤ (1 − minChange)·median; spike:
 * observed > median + k·σ̂ and ≥ (1 + minChange)·median; silence: nothing at all. σ̂ =
 * max(1.4826·MAD, √median + 0.1·median): a handful of past weeks can agree closely by chance,
 * so the spread is floored at counting noise (Poisson, √median) plus 10 % over-dispersion.
 * At least `MIN_WEEKS` past weeks are needed: with two, the median is their mean and one
 * anomalous week would move it.
 */
export function judge(kind: 'traffic-drop' | 'traffic-spike' | 'traffic-silence', observed: number, history: readonly number[], p: Pick<AnomalyParams, 'sensitivity' | 'minChange'> & { minBaseline: number }): Judgement {
  const { median: m, mad } = robustBaseline(history.length > 0 ? history : [0]);
  const sigma = Math.max(MAD_TO_SIGMA * mad, Math.sqrt(m) + 0.1 * m);
  const watched = history.length >= MIN_WEEKS && m >= p.minBaseline;
  if (kind === 'traffic-silence') return { fires: watched && observed === 0, watched, observed, median: m, mad, bound: 0 };
  if (kind === 'traffic-drop') {
    const bound = Math.min(m - p.sensitivity * sigma, m * (1 - p.minChange));
    return { fires: watched && observed < bound, watched, observed, median: m, mad, bound };
  }
  const bound = Math.max(m + p.sensitivity * sigma, m * (1 + p.minChange));
  return { fires: watched && observed > bound, watched, observed, median: m, mad, bound };
}
