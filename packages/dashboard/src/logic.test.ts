import { describe, expect, it } from 'vitest';
import type { UsageResult } from './api.ts';
import { queryString } from './api.ts';
import { groupDigits, sumDecimals } from './decimal.ts';
import { parseIngestOutcomes } from './prom.ts';
import { formatValue } from './format.ts';
import { headCount, partialWindows, rank, toChartData, windowStarts } from './series.ts';
import { rangeChange } from './time.ts';
import { similarTenants } from './views/Tenant.tsx';
import { searchTenants } from './views/TenantList.tsx';

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

describe('explorer windows', () => {
  const day = (windowStart: string, windowEnd: string, value = '1') => ({ value, windowStart, windowEnd, tenant: null, groupBy: {} });
  it('a new range keeps the chosen window size unless minute windows would pass a day', () => {
    expect(rangeChange('DAY', '7d')).toEqual({ range: '7d', window: 'DAY' });
    expect(rangeChange('HOUR', '30d')).toEqual({ range: '30d', window: 'HOUR' });
    expect(rangeChange('MINUTE', '7d')).toEqual({ range: '7d', window: 'HOUR' });
    expect(rangeChange('MINUTE', '6h')).toEqual({ range: '6h', window: 'MINUTE' });
  });
  it('fills empty day windows at the zone midnights across a DST change, and marks clipped or open windows partial', () => {
    // Europe/Berlin leaves summer time on 2026-10-25: that day has 25 hours.
    const r: UsageResult = {
      meter: 'm', aggregation: 'COUNT', from: '2026-10-23T10:00:00.000Z', to: '2026-10-28T10:00:00.000Z', windowSize: 'DAY', windowTimeZone: 'Europe/Berlin', resolution: 'HOUR',
      data: [day('2026-10-23T10:00:00.000Z', '2026-10-23T22:00:00.000Z'), day('2026-10-26T23:00:00.000Z', '2026-10-27T23:00:00.000Z'), day('2026-10-27T23:00:00.000Z', '2026-10-28T10:00:00.000Z')],
    };
    expect(windowStarts(r).map((t) => new Date(t).toISOString())).toEqual([
      '2026-10-23T10:00:00.000Z', '2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', '2026-10-26T23:00:00.000Z', '2026-10-27T23:00:00.000Z',
    ]);
    expect(toChartData(r, [], 8, 'm').series[0]!.values).toEqual([1, 0, 0, 0, 1, 1]);
    expect([...partialWindows(r, Date.parse('2026-10-28T09:00:00Z'))].sort()).toEqual(['2026-10-23T10:00:00.000Z', '2026-10-27T23:00:00.000Z']);
  });
  it('shows values with their unit and precision, counts without fractions, money with its currency', () => {
    expect(formatValue('1234.5', { aggregation: 'COUNT', unit: 'requests' })).toBe('1,235 requests');
    expect(formatValue('12.30456', { aggregation: 'SUM', unit: 'USD', precision: 4 })).toBe('USD 12.3046');
    expect(formatValue('12.3', { aggregation: 'SUM', unit: 'EUR' })).toBe('EUR 12.30');
    expect(formatValue('-0.004', { aggregation: 'SUM', unit: 'USD' })).toBe('USD 0.00');
    expect(formatValue('1234567.125', { aggregation: 'AVG', unit: 'ms', precision: 1 })).toBe('1,234,567.1 ms');
    expect(formatValue('1234567.125', { aggregation: 'SUM' })).toBe('1,234,567.125');
    expect(formatValue(null, { aggregation: 'MAX', unit: 'ms' })).toBe('–');
  });
});

describe('tenant lookup', () => {
  it('suggests tenant ids one edit away or containing each other, and searches case-insensitively', () => {
    const ids = ['acme', 'globex', 'initech', 'acme-2', 'hooli'];
    expect(similarTenants('acmee', ids)).toEqual(['acme']);
    expect(similarTenants('ACME', ids)).toEqual(['acme', 'acme-2']);
    expect(similarTenants('glebex', ids)).toEqual(['globex']);
    expect(similarTenants('zzz', ids)).toEqual([]);
    const ranked = ids.map((key, i) => ({ key, value: String(10 - i), share: 0, cumulative: 0, row: { value: String(10 - i), windowStart: '', windowEnd: '', tenant: key, groupBy: {} } }));
    expect(searchTenants(ranked, ' AC ').map((t) => t.key)).toEqual(['acme', 'acme-2']);
    expect(searchTenants(ranked, '').length).toBe(5);
  });
});
