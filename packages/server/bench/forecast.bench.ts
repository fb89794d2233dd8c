/**
 * npm run bench:forecast — forecast error of the shipped method vs the seasonal-naive baseline,
 * in the same rolling-origin backtest (origins every 12 h over the last week, up to 7 days
 * ahead), on a generated series with trend and seasonality and on hourly traffic shaped like
 * the demo's (packages/server/src/demo/shape.ts: working-day curve, weekends at 35 %, growing,
 * steady and churning tenants, and their total), at hourly and daily windows.
 */
import { forecastSeries } from '../src/capacity/forecast.ts';
import { demoShapedSeries, trendSeasonalSeries } from '../src/capacity/synthetic.ts';

const END = Date.UTC(2026, 10, 30);
const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(1).padStart(6));

const series: [string, number[]][] = [
  ['generated: trend + daily/weekly season (28 d)', trendSeasonalSeries({ hours: 24 * 28, base: 1000, trendPerDay: 25, dailyAmplitude: 0.6, weekendFactor: 0.4, noise: 40, seed: 7 })],
  ['generated: strong trend (21 d)', trendSeasonalSeries({ hours: 24 * 21, base: 400, trendPerDay: 40, dailyAmplitude: 0.5, weekendFactor: 0.5, noise: 25, seed: 8 })],
];
const demo = (['steady', 'growing', 'churning'] as const).map((trend, i) => [trend, demoShapedSeries({ hours: 24 * 14, endMs: END, peakPerHour: 900 / (i + 1), trend, seed: 21 + i })] as const);
for (const [trend, y] of demo) series.push([`demo-shaped 14 d: ${trend} tenant`, y]);
series.push(['demo-shaped 14 d: total of the three', demo[0]![1].map((_, t) => demo.reduce((s, [, y]) => s + y[t]!, 0))]);

console.log('bench:forecast — sMAPE / MAPE in % (lower is better), same rolling-origin backtest for both');
console.log(`${'series'.padEnd(48)} ${'window'.padEnd(6)} ${'candidate'.padEnd(28)} ${'sMAPE'.padStart(6)} ${'MAPE'.padStart(6)} | ${'naive sMAPE'.padStart(11)} ${'MAPE'.padStart(6)} | ratio  ships`);
for (const [name, y] of series) {
  for (const windowHours of [1, 24] as const) {
    const f = forecastSeries(y, { horizonHours: 24 * 7, windowHours, level: 0.8 });
    const ratio = f.candidate.smape !== null && f.baseline.smape ? (f.candidate.smape / f.baseline.smape).toFixed(2) : '—';
    console.log(`${name.padEnd(48)} ${(windowHours === 1 ? 'hour' : 'day').padEnd(6)} ${f.candidate.method.padEnd(28)} ${fmt(f.candidate.smape)} ${fmt(f.candidate.mape)} | ${fmt(f.baseline.smape).padStart(11)} ${fmt(f.baseline.mape)} | ${ratio.padStart(5)}  ${f.method}`);
  }
}
console.log('ratio = candidate sMAPE / baseline sMAPE; below 1 the candidate ships, otherwise the seasonal-naive baseline does.');
