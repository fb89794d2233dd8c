import { describe, expect, it } from 'vitest';
import type { UsageResult } from './api.ts';
import { queryString } from './api.ts';
import { groupDigits, sumDecimals } from './decimal.ts';
import { parseIngestOutcomes } from './prom.ts';
import { headCount, rank, toChartData, windowStarts } from './series.ts';

const row = (windowStart: string, value: string | null, groupBy: Record<string, string> = {}, tenant: string | null = null) => ({ value, windowStart, windowEnd: windowStart, tenant, groupBy });

describe('decimal', () => {
  it('sums decimal strings exactly, where floats would not', () => {
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(sumDecimals(['0.0001', '12', null, '-2.5'])).toBe('9.5001');
    expect(sumDecimals(['9007199254740993', '1'])).toBe('9007199254740994');
    expect(sumDecimals([])).toBe('0');
  });
  it('groups thousands without losing digits', () => {
    expect(groupDigits('1234567.000125')).toBe('1,234,567.000125');
    expect(groupDigits('-1000')).toBe('-1,000');
    expect(groupDigits('12')).toBe('12');
  });
});

describe('prometheus outcomes', () => {
  it('reads accepted, duplicate and rejected by code', () => {
    const text = [
      '# HELP tally_ingest_events_total Events',
      '# TYPE tally_ingest_events_total counter',
      'tally_ingest_events_total{outcome="accepted",code=""} 3000',
      'tally_ingest_events_total{outcome="duplicate",code=""} 50',
      'tally_ingest_events_total{outcome="rejected",code="INVALID_TIME"} 2',
      'tally_ingest_events_total{outcome="rejected",code="VALIDATION_FAILED"} 5',
      'tally_ingest_request_duration_seconds_count 10',
    ].join('\n');
    expect(parseIngestOutcomes(text)).toEqual({ accepted: 3000, duplicate: 50, rejected: 7, rejectedByCode: [['VALIDATION_FAILED', 5], ['INVALID_TIME', 2]] });
  });
});

describe('series', () => {
  const result: UsageResult = {
    meter: 'm',
    aggregation: 'COUNT',
    from: '2026-01-01T00:00:00.000Z',
    to: '2026-01-01T00:05:00.000Z',
    windowSize: 'MINUTE',
    windowTimeZone: 'UTC',
    resolution: 'minute',
    data: [row('2026-01-01T00:01:00.000Z', '3', { s: '2xx' }), row('2026-01-01T00:03:00.000Z', '1', { s: '5xx' }), row('2026-01-01T00:03:00.000Z', '7', { s: '2xx' })],
  };
  it('fills the empty minutes the API omits', () => {
    expect(windowStarts(result).map((t) => new Date(t).toISOString().slice(11, 16))).toEqual(['00:00', '00:01', '00:02', '00:03', '00:04']);
  });
  it('splits groups into series, largest first, zero where COUNT has no row, raw strings kept', () => {
    const c = toChartData(result, ['s']);
    expect(c.series.map((s) => s.label)).toEqual(['2xx', '5xx']);
    expect(c.series[0]!.values).toEqual([0, 3, 0, 7, 0]);
    expect(c.series[0]!.raw).toEqual([null, '3', null, '7', null]);
    expect(c.series[1]!.values).toEqual([0, 0, 0, 1, 0]);
  });
  it('leaves gaps for aggregations without a zero (MAX)', () => {
    expect(toChartData({ ...result, aggregation: 'MAX' }, ['s']).series[1]!.values).toEqual([null, null, null, 1, null]);
  });
  it('ranks with shares and finds the head that makes 80%', () => {
    const rows = [row('x', '10', { r: 'a' }), row('x', '70', { r: 'b' }), row('x', '20', { r: 'c' })];
    const { items, total } = rank(rows, (r) => r.groupBy.r!);
    expect(total).toBe('100');
    expect(items.map((i) => [i.key, i.share])).toEqual([['b', 0.7], ['c', 0.2], ['a', 0.1]]);
    expect(headCount(items)).toBe(2);
  });
});

describe('query string', () => {
  it('repeats list parameters the way the API reads them', () => {
    expect(queryString({ meter: 'm', windowSize: 'HOUR', tenants: ['a', 'b'], groupBy: ['tenant', 'route'], filterGroupBy: { route: ['/x'] } })).toBe(
      'windowSize=HOUR&tenant=a&tenant=b&groupBy=tenant&groupBy=route&filterGroupBy%5Broute%5D=%2Fx',
    );
  });
});
