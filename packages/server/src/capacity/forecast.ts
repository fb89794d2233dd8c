import { backtest, quantile, type BacktestScore, type Forecaster } from './backtest.ts';
import { bestHoltWinters, seasonalNaive } from './holt-winters.ts';

/** Hours in a week: the season of hourly usage (each hour of the week has its own index, so it holds the daily and the weekly cycle). */
export const WEEK_HOURS = 168;
/** The daily season, used when the history is shorter than a week and a day. */
export const DAY_HOURS = 24;

/** What to forecast from an hourly series. */
export interface ForecastOptions {
  /** Hours ahead. */
  horizonHours: number;
  /** Output window in hours: 1 (hourly) or 24 (daily sums). */
  windowHours: 1 | 24;
  /** Central coverage of the prediction interval (0.8 → 10th to 90th percentile). */
  level: number;
  /** "When will a window exceed this?" (in the meter's unit per output window). */
  threshold?: number;
}

/** One forecast window (offsets in output windows after the end of the history). */
export interface ForecastPoint {
  offset: number;
  value: number;
  lower: number | null;
  upper: number | null;
}

/** A method's backtest error, as shown beside the baseline's. */
export interface MethodScore {
  method: string;
  mape: number | null;
  smape: number | null;
  windows: number;
}

/** The forecast with the evidence for the method that made it. */
export interface SeriesForecast {
  /** The method that made `points`: the candidate only where it beat the baseline in the backtest. */
  method: string;
  candidate: MethodScore;
  baseline: MethodScore;
  /** Why `method` ships. */
  reason: string;
  seasonHours: number;
  origins: number;
  points: ForecastPoint[];
  /** How the interval was made, or why there is none. */
  interval: string;
  threshold: { value: number; offset: number | null; earliest: number | null; latest: number | null } | null;
}

/** Thrown when the history is too short to forecast from. */
export class InsufficientHistory extends Error {}

/**
 * Forecasts an hourly series: Holt-Winters (additive or multiplicative, chosen by fit) against
 * the seasonal-naive baseline in a rolling-origin backtest (origins every 12 h over the last
 * week, forecasts up to 7 days out); the method ships only where its sMAPE is lower. The
 * interval at each lead day applies the shipped method's backtest relative errors at that lead
 * (empirical quantiles) to the point forecast.
 */
export function forecastSeries(y: readonly number[], o: ForecastOptions): SeriesForecast {
  const m = y.length >= WEEK_HOURS + 2 * DAY_HOURS ? WEEK_HOURS : DAY_HOURS;
  if (y.length < m + 2 * DAY_HOURS) throw new InsufficientHistory(`${y.length} hours of history; a forecast needs at least ${m + 2 * DAY_HOURS} (${(m + 2 * DAY_HOURS) / 24} days)`);
  const hwName = (train: readonly number[]) => `holt-winters-${bestHoltWinters(train, m).form}`;
  const forecasters: Record<string, Forecaster> = {
    method: (train, h) => bestHoltWinters(train, m).forecast(h),
    baseline: (train, h) => seasonalNaive(train, m, h),
  };
  const maxLead = Math.min(7 * DAY_HOURS, y.length - m - DAY_HOURS);
  const window = o.windowHours;
  const bt = backtest(y, { horizon: maxLead, origins: 14, originStep: 12, window, bucket: DAY_HOURS / window, minTrain: m + DAY_HOURS }, forecasters);
  const cand = bt.scores.method!;
  const base = bt.scores.baseline!;
  const candName = hwName(y);
  const wins = cand.smape !== null && base.smape !== null && cand.smape < base.smape;
  const shipped = wins ? 'method' : 'baseline';
  const h = Math.ceil(o.horizonHours / window) * window;
  const hourly = forecasters[shipped]!(y, h);
  const values: number[] = [];
  for (let w = 0; w < h / window; w++) {
    let s = 0;
    for (let k = w * window; k < (w + 1) * window; k++) s += hourly[k]!;
    values.push(s);
  }
  const rel = bt.scores[shipped]!.relErrors;
  const tail = (1 - o.level) / 2;
  const bounds = (lead: number): [number, number] | null => {
    // Beyond the backtest's furthest lead the furthest one's errors are used (stated in `interval`).
    for (let b = Math.min(lead, rel.length - 1); b >= 0; b--) {
      const errs = rel[b];
      if (errs && errs.length >= 2) return [quantile(errs, tail)!, quantile(errs, 1 - tail)!];
    }
    return null;
  };
  const points = values.map((v, i) => {
    const q = bounds(Math.floor((i * window) / DAY_HOURS));
    // A biased method's errors can all lie on one side: the interval still holds the point.
    return { offset: i, value: v, lower: q ? Math.max(0, Math.min(v, v * (1 + q[0]))) : null, upper: q ? Math.max(v, v * (1 + q[1])) : null };
  });
  const score = (name: string, s: BacktestScore): MethodScore => ({ method: name, mape: s.mape, smape: s.smape, windows: s.windows });
  const first = (f: (p: ForecastPoint) => boolean) => points.find(f)?.offset ?? null;
  return {
    method: wins ? candName : 'seasonal-naive',
    candidate: score(candName, cand),
    baseline: score('seasonal-naive', base),
    reason:
      cand.smape === null || base.smape === null
        ? 'no backtest was possible (history too short): the seasonal-naive baseline ships'
        : wins
          ? `${candName} beat the seasonal-naive baseline in the backtest (sMAPE ${cand.smape.toFixed(1)} % vs ${base.smape.toFixed(1)} %)`
          : `${candName} did not beat the seasonal-naive baseline in the backtest (sMAPE ${cand.smape.toFixed(1)} % vs ${base.smape.toFixed(1)} %): the baseline ships`,
    seasonHours: m,
    origins: bt.origins,
    points,
    interval: rel.some((e) => e && e.length >= 2)
      ? `${Math.round(o.level * 100)} % interval: the ${Math.round(tail * 100)}th and ${Math.round((1 - tail) * 100)}th percentiles of the shipped method's relative backtest errors at the same lead day (${bt.origins} origins), applied to the point forecast; leads beyond the backtest's ${rel.length} day(s) use the furthest lead's errors`
      : 'no interval: the backtest produced too few errors',
    threshold:
      o.threshold === undefined
        ? null
        : {
            value: o.threshold,
            offset: first((p) => p.value > o.threshold!),
            earliest: first((p) => (p.upper ?? p.value) > o.threshold!),
            latest: first((p) => (p.lower ?? p.value) > o.threshold!),
          },
  };
}
