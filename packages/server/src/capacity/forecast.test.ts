import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backtest } from './backtest.ts';
import { forecastSeries, InsufficientHistory } from './forecast.ts';
import { fitHoltWinters, seasonalNaive } from './holt-winters.ts';
import { demoShapedSeries, trendSeasonalSeries } from './synthetic.ts';

const END = Date.UTC(2026, 10, 30, 0, 0, 0);

describe('forecasts', () => {
  it('Holt-Winters continues an exact linear trend with an additive season without error', () => {
    const y = Array.from({ length: 24 * 14 }, (_, t) => 100 + 0.5 * t + 10 * Math.sin((2 * Math.PI * t) / 24));
    const f = fitHoltWinters(y, 24, 'additive', { alpha: 0.5, beta: 0.1, gamma: 0.1 }).forecast(48);
    f.forEach((v, k) => expect(v).toBeCloseTo(100 + 0.5 * (y.length + k) + 10 * Math.sin((2 * Math.PI * (y.length + k)) / 24), 6));
  });

  it('seasonal naive repeats the last season', () => {
    expect(seasonalNaive([1, 2, 3, 4, 5, 6], 3, 5)).toEqual([4, 5, 6, 4, 5]);
  });

  it('on a generated series with trend and seasonality the method beats the seasonal-naive baseline and ships', () => {
    const y = trendSeasonalSeries({ hours: 24 * 28, base: 1000, trendPerDay: 25, dailyAmplitude: 0.6, weekendFactor: 0.4, noise: 40, seed: 7 });
    const f = forecastSeries(y, { horizonHours: 24 * 7, windowHours: 24, level: 0.8 });
    expect(f.method).toMatch(/^holt-winters/);
    expect(f.candidate.smape!).toBeLessThan(f.baseline.smape!);
    expect(f.points).toHaveLength(7);
  });

  it('on demo-shaped traffic of a growing tenant the method beats the baseline at daily windows', () => {
    const y = demoShapedSeries({ hours: 24 * 21, endMs: END, peakPerHour: 600, trend: 'growing', seed: 3 });
    const f = forecastSeries(y, { horizonHours: 24 * 7, windowHours: 24, level: 0.8 });
    expect(f.candidate.smape!).toBeLessThan(f.baseline.smape!);
    expect(f.method).toBe(f.candidate.method);
  });

  it('ships the baseline when the method does not beat it, and says so', () => {
    // A series that repeats one week exactly: the seasonal naive forecast is perfect.
    const week = Array.from({ length: 168 }, (_, t) => ((t * 37) % 101) + (t % 24 === 3 ? 500 : 0));
    const y = [...week, ...week, ...week];
    const f = forecastSeries(y, { horizonHours: 48, windowHours: 1, level: 0.8 });
    expect(f.baseline.smape).toBe(0);
    expect(f.method).toBe('seasonal-naive');
    expect(f.reason).toMatch(/baseline ships/);
  });

  it('answers when a growing series will exceed a threshold, with an earliest and latest window bracketing it', () => {
    const y = trendSeasonalSeries({ hours: 24 * 21, base: 1000, trendPerDay: 50, dailyAmplitude: 0.3, weekendFactor: 1, noise: 20, seed: 11 });
    const lastDay = y.slice(-24).reduce((a, b) => a + b, 0);
    const f = forecastSeries(y, { horizonHours: 24 * 14, windowHours: 24, level: 0.8, threshold: lastDay * 1.2 });
    const t = f.threshold!;
    expect(t.offset).not.toBeNull();
    expect(t.earliest!).toBeLessThanOrEqual(t.offset!);
    expect(t.latest === null || t.latest >= t.offset!).toBe(true);
  });

  it('refuses a history shorter than two days beyond a season', () => {
    expect(() => forecastSeries(new Array(40).fill(1), { horizonHours: 24, windowHours: 1, level: 0.8 })).toThrow(InsufficientHistory);
  });

  it('property: intervals hold the point forecast, nothing is negative, and the backtest scores both methods on the same windows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 9, max: 20 }), fc.double({ min: 0, max: 80, noNaN: true }), (seed, days, trend) => {
        const y = trendSeasonalSeries({ hours: 24 * days, base: 500, trendPerDay: trend, dailyAmplitude: 0.5, weekendFactor: 0.5, noise: 30, seed });
        const f = forecastSeries(y, { horizonHours: 72, windowHours: 1, level: 0.8 });
        expect(f.candidate.windows).toBe(f.baseline.windows);
        for (const p of f.points) {
          expect(p.value).toBeGreaterThanOrEqual(0);
          if (p.lower !== null && p.upper !== null) {
            expect(p.lower).toBeLessThanOrEqual(p.value + 1e-9);
            expect(p.upper).toBeGreaterThanOrEqual(p.value - 1e-9);
          }
        }
      }),
      { numRuns: 15 },
    );
  });

  it('property: the backtest never lets a forecaster see the window it is scored on', () => {
    // A forecaster that answers with the last value it saw scores 0 only if it could peek.
    const y = Array.from({ length: 24 * 10 }, (_, t) => t);
    const r = backtest(y, { horizon: 24, origins: 5, originStep: 12, window: 1, bucket: 24, minTrain: 48 }, { last: (train, h) => new Array(h).fill(train[train.length - 1]) });
    expect(r.scores.last!.smape!).toBeGreaterThan(0);
  });
});
