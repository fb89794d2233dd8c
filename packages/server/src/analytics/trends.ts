import { Decimal } from 'decimal.js';
import type { EpochMicros } from '../shared/time.ts';
import type { QueryService, UsageRow } from '../usage/query-service.ts';
import type { WindowSize } from '../usage/windows.ts';

/** A trend question: a meter over [from, to) beside the period of the same length before it. */
export interface TrendQuery {
  meter: string;
  from: EpochMicros;
  to: EpochMicros;
  windowSize?: WindowSize | undefined;
  timeZone: string;
  tenants?: string[] | undefined;
}

/** A trend answer: exact values now and before, and the change. */
export interface TrendAnswer {
  meter: string;
  aggregation: string;
  current: { from: string; to: string; value: string | null; series: UsageRow[] };
  previous: { from: string; to: string; value: string | null; series: UsageRow[] };
  /** (current − previous) / previous × 100, rounded half-even to 2 places; null when previous is 0 or undefined. */
  changePercent: string | null;
  approximate: false;
}

/** Change in percent of two exact decimals (null when there is nothing to compare with). */
export function changePercent(current: string | null, previous: string | null): string | null {
  if (current === null || previous === null) return null;
  const prev = new Decimal(previous);
  if (prev.isZero()) return null;
  return new Decimal(current).sub(prev).div(prev.abs()).mul(100).toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toFixed(2);
}

/** A meter's value over the range and over the same length just before it, with the change (any aggregation). */
export async function trend(queries: QueryService, q: TrendQuery): Promise<TrendAnswer> {
  const len = q.to - q.from;
  const ask = (from: number, to: number, windowSize?: WindowSize) => queries.query({ meter: q.meter, from, to, windowSize, windowTimeZone: q.timeZone, tenants: q.tenants });
  const [cur, prev] = await Promise.all([ask(q.from, q.to), ask(q.from - len, q.from)]);
  const [curSeries, prevSeries] = q.windowSize ? await Promise.all([ask(q.from, q.to, q.windowSize), ask(q.from - len, q.from, q.windowSize)]) : [cur, prev];
  const value = (r: typeof cur) => r.data[0]?.value ?? (r.aggregation === 'COUNT' || r.aggregation === 'SUM' || r.aggregation === 'UNIQUE_COUNT' || r.aggregation === 'TIME_WEIGHTED_SUM' ? '0' : null);
  const c = value(cur);
  const p = value(prev);
  return {
    meter: q.meter,
    aggregation: cur.aggregation,
    current: { from: cur.from, to: cur.to, value: c, series: q.windowSize ? curSeries.data : [] },
    previous: { from: prev.from, to: prev.to, value: p, series: q.windowSize ? prevSeries.data : [] },
    changePercent: changePercent(c, p),
    approximate: false,
  };
}
