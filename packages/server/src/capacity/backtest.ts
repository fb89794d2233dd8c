/**
 * Rolling-origin backtest: the series is cut at several origins, each forecaster sees only
 * what came before and forecasts what came after, and the forecasts are scored against what
 * happened, summed into output windows (hours or days). The same runs give the empirical
 * errors the prediction intervals are built from.
 */

/** A forecaster: `train` in, `h` steps out. */
export type Forecaster = (train: readonly number[], h: number) => number[];

/** Where to cut and how to score. */
export interface BacktestPlan {
  /** Steps forecast from each origin (at most what is left of the series after it). */
  horizon: number;
  /** Origins, the last `originStep` steps before the end going back. */
  origins: number;
  originStep: number;
  /** Steps per scored window (1: hourly; 24: daily sums of hourly forecasts). */
  window: number;
  /** Windows per lead bucket: errors are grouped by how far ahead they were. */
  bucket: number;
  /** Shortest training series an origin may leave. */
  minTrain: number;
}

/** A forecaster's score. */
export interface BacktestScore {
  /** Mean absolute percentage error in %, over windows whose actual is not 0 (null: none). */
  mape: number | null;
  /** Symmetric MAPE in % (0..200); a window where both are 0 counts as 0. */
  smape: number | null;
  /** Scored windows. */
  windows: number;
  /** Relative errors (actual − forecast) / forecast by lead bucket (forecast > 0 only). */
  relErrors: number[][];
}

/** Scores each forecaster on the same origins. */
export function backtest(y: readonly number[], plan: BacktestPlan, forecasters: Record<string, Forecaster>): { origins: number; scores: Record<string, BacktestScore> } {
  const cuts: number[] = [];
  for (let i = 1; i <= plan.origins; i++) {
    const o = y.length - i * plan.originStep;
    if (o < plan.minTrain) break;
    cuts.push(o);
  }
  const scores: Record<string, BacktestScore> = {};
  for (const [name, f] of Object.entries(forecasters)) {
    let ape = 0;
    let apeN = 0;
    let sape = 0;
    let n = 0;
    const rel: number[][] = [];
    for (const o of cuts) {
      const h = Math.min(plan.horizon, y.length - o);
      const windows = Math.floor(h / plan.window);
      if (windows === 0) continue;
      const fc = f(y.slice(0, o), windows * plan.window);
      for (let w = 0; w < windows; w++) {
        let a = 0;
        let p = 0;
        for (let k = w * plan.window; k < (w + 1) * plan.window; k++) {
          a += y[o + k]!;
          p += fc[k]!;
        }
        n++;
        if (a !== 0) {
          ape += Math.abs(a - p) / Math.abs(a);
          apeN++;
        }
        sape += a === 0 && p === 0 ? 0 : (2 * Math.abs(a - p)) / (Math.abs(a) + Math.abs(p));
        if (p > 0) (rel[Math.floor(w / plan.bucket)] ??= []).push((a - p) / p);
      }
    }
    scores[name] = { mape: apeN ? (100 * ape) / apeN : null, smape: n ? (100 * sape) / n : null, windows: n, relErrors: rel };
  }
  return { origins: cuts.length, scores };
}

/** The q-quantile (0..1) of `xs` by linear interpolation; null when empty. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
