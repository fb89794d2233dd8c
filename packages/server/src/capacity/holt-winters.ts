/**
 * Holt-Winters exponential smoothing (level, trend, one seasonal cycle), hand-written because
 * forecasting is part of the product: additive (seasonal swing of fixed size) and
 * multiplicative (swing proportional to the level, as traffic that grows keeps its shape).
 * Forecasts are floating-point estimates, never billing numbers: answers carry `approximate`.
 */

/** Which seasonal form. */
export type SeasonalForm = 'additive' | 'multiplicative';

/** Smoothing weights (0 ≤ each ≤ 1). */
export interface HwParams {
  alpha: number;
  beta: number;
  gamma: number;
}

/** A fitted model: forecasts `h` steps past the end of the series it saw. */
export interface HwFit {
  form: SeasonalForm;
  params: HwParams;
  /** Sum of squared one-step errors over the fitted part (what the grid search minimises). */
  sse: number;
  forecast(h: number): number[];
}

const ALPHAS = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5];
const BETAS = [0, 0.005, 0.02, 0.05];
const GAMMAS = [0.05, 0.15, 0.3, 0.5];

/**
 * Fits one form with fixed weights. The first season initialises level and seasonal indices;
 * the trend starts as the change between the first two seasons' means per step when two
 * seasons exist (else 0).
 */
export function fitHoltWinters(y: readonly number[], m: number, form: SeasonalForm, p: HwParams): HwFit {
  if (y.length < m + 1) throw new RangeError(`Holt-Winters needs more than one season (${m} points), got ${y.length}`);
  const mean = (a: number, b: number) => {
    let s = 0;
    for (let i = a; i < b; i++) s += y[i]!;
    return s / (b - a);
  };
  // The first season's mean sits at its middle step; the indices are taken off the trend line
  // through it, and the level starts at the end of that season.
  const first = mean(0, m);
  let trend = y.length >= 2 * m ? (mean(m, 2 * m) - first) / m : 0;
  const season = new Array<number>(m);
  const mult = form === 'multiplicative';
  for (let i = 0; i < m; i++) {
    const line = first + trend * (i - (m - 1) / 2);
    season[i] = mult ? (line > 0 ? y[i]! / line : 1) : y[i]! - line;
  }
  let level = first + (trend * (m - 1)) / 2;
  let sse = 0;
  for (let t = m; t < y.length; t++) {
    const s = season[t % m]!;
    const predicted = mult ? (level + trend) * s : level + trend + s;
    const e = y[t]! - predicted;
    sse += e * e;
    const prevLevel = level;
    if (mult) {
      level = p.alpha * (s > 1e-9 ? y[t]! / s : y[t]!) + (1 - p.alpha) * (level + trend);
      trend = p.beta * (level - prevLevel) + (1 - p.beta) * trend;
      season[t % m] = level > 1e-9 ? p.gamma * (y[t]! / level) + (1 - p.gamma) * s : s;
    } else {
      level = p.alpha * (y[t]! - s) + (1 - p.alpha) * (level + trend);
      trend = p.beta * (level - prevLevel) + (1 - p.beta) * trend;
      season[t % m] = p.gamma * (y[t]! - level) + (1 - p.gamma) * s;
    }
  }
  const n = y.length;
  const finalLevel = level;
  const finalTrend = trend;
  const finalSeason = season.slice();
  return {
    form,
    params: p,
    sse,
    forecast(h: number): number[] {
      const out = new Array<number>(h);
      for (let k = 1; k <= h; k++) {
        const s = finalSeason[(n + k - 1) % m]!;
        const v = mult ? (finalLevel + k * finalTrend) * s : finalLevel + k * finalTrend + s;
        // Usage is never negative: a falling trend stops at zero.
        out[k - 1] = Math.max(0, v);
      }
      return out;
    },
  };
}

/**
 * The best-fitting model over a small grid of weights and both forms (multiplicative only for
 * series without zeros or negatives, where a ratio means something), by one-step SSE.
 */
export function bestHoltWinters(y: readonly number[], m: number): HwFit {
  const forms: SeasonalForm[] = y.every((v) => v > 0) ? ['additive', 'multiplicative'] : ['additive'];
  let best: HwFit | undefined;
  for (const form of forms)
    for (const alpha of ALPHAS)
      for (const beta of BETAS)
        for (const gamma of GAMMAS) {
          const f = fitHoltWinters(y, m, form, { alpha, beta, gamma });
          if (Number.isFinite(f.sse) && (!best || f.sse < best.sse)) best = f;
        }
  return best!;
}

/** The seasonal-naive forecast: each step repeats the value one season earlier. */
export function seasonalNaive(y: readonly number[], m: number, h: number): number[] {
  if (y.length < m) throw new RangeError(`seasonal naive needs one season (${m} points), got ${y.length}`);
  const out = new Array<number>(h);
  for (let k = 0; k < h; k++) out[k] = y[y.length - m + (k % m)]!;
  return out;
}
