import { describe, expect, it } from 'vitest';
import { formatMicros, parseRfc3339 } from '../shared/time.ts';
import { periodAt, type PeriodSpec } from './period.ts';

const at = (iso: string) => parseRfc3339(iso)!;
const span = (spec: PeriodSpec, iso: string) => {
  const p = periodAt(spec, at(iso));
  return [formatMicros(p.start), formatMicros(p.end)];
};

describe('periodAt', () => {
  it('months follow the zone wall clock (New York: EST to EDT)', () => {
    const ny: PeriodSpec = { unit: 'month', timeZone: 'America/New_York' };
    // 23:30 on March 31 in New York is already April in UTC.
    expect(span(ny, '2026-03-31T23:30:00-04:00')).toEqual(['2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z']);
    expect(span(ny, '2026-04-01T04:00:00Z')).toEqual(['2026-04-01T04:00:00.000Z', '2026-05-01T04:00:00.000Z']);
    expect(span(ny, '2026-04-01T03:59:59.999999Z')[1]).toBe('2026-04-01T04:00:00.000Z');
  });

  it('an anchor on the 31st clamps short months without drifting', () => {
    const spec: PeriodSpec = { unit: 'month', timeZone: 'UTC', anchor: '2026-01-31' };
    expect(span(spec, '2026-02-10T00:00:00Z')).toEqual(['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z']);
    expect(span(spec, '2026-03-01T00:00:00Z')).toEqual(['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    // An anchor in the future still lays out the periods before it.
    expect(span({ ...spec, anchor: '2027-05-15' }, '2026-06-20T00:00:00Z')).toEqual(['2026-06-15T00:00:00.000Z', '2026-07-15T00:00:00.000Z']);
  });

  it('a DST day is 23 hours; hours in a half-hour zone start at :30 UTC', () => {
    expect(span({ unit: 'day', timeZone: 'America/New_York' }, '2026-03-08T12:00:00Z')).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
    expect(span({ unit: 'hour', timeZone: 'Asia/Kolkata' }, '2026-03-08T12:00:00Z')).toEqual(['2026-03-08T11:30:00.000Z', '2026-03-08T12:30:00.000Z']);
    expect(span({ unit: 'day', timeZone: 'UTC', anchor: '2026-01-01T09:00' }, '2026-03-08T08:59:00Z')).toEqual(['2026-03-07T09:00:00.000Z', '2026-03-08T09:00:00.000Z']);
  });
});
