import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawUsageByTenant } from '../src/billing/raw-usage.ts';
import { meterSchema, type MeterDefinition } from '../src/meters/meter.ts';
import { MeterRegistry } from '../src/meters/registry.ts';
import { SCALE } from '../src/shared/decimal.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/**
 * TIME_WEIGHTED_SUM through the API: a storage gauge declared with POST /v1/meters (backfilled
 * from samples already stored), asked per day in a zone, with a late sample, and "now" inside the
 * range (the last sample holds only until now). Hand-computed GB-hours.
 */
describe('TIME_WEIGHTED_SUM through the API', () => {
  const clock = fixedClock('2026-04-03T12:00:00Z');
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ meters: TEST_METERS, clock });
  });
  afterAll(async () => {
    await s.close();
  });
  const sample = (id: string, time: string, gb: string | number, disk = 'd1') => ce(id, 'store-t', time, { gb, disk }, { type: 'resource.sample' });

  it('integrates GB samples into GB-hours per day, exactly, with the carry-in, a late sample and now', async () => {
    // 10 GB from Mar 31 18:00 (before the range), 16 GB from Apr 1 06:00, 4 GB from Apr 2 00:00.
    expect((await s.request('POST', '/v1/events', [sample('g1', '2026-03-31T18:00:00Z', '10'), sample('g2', '2026-04-01T06:00:00Z', 16), sample('g3', '2026-04-02T00:00:00Z', '4')])).body.accepted).toBe(3);
    const def = { slug: 'storage_gb_hours', eventType: 'resource.sample', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb', groupBy: { disk: '$.disk' }, unit: 'GB-h' };
    const created = await s.request('POST', '/v1/meters', def);
    expect(created.status).toBe(201);
    expect(created.body.backfilled).toBe(3);
    const q = '/v1/meters/storage_gb_hours/query?tenant=store-t&from=2026-04-01T00:00:00Z&to=2026-04-04T00:00:00Z&windowSize=DAY';
    const days = async () => ((await s.request('GET', q)).body.data as { windowStart: string; value: string }[]).map((r) => [r.windowStart.slice(0, 10), r.value]);
    // Apr 1: 6 h × 10 + 18 h × 16 = 348; Apr 2: 24 h × 4 = 96; Apr 3: 12 h × 4 = 48 (now is 12:00).
    expect(await days()).toEqual([['2026-04-01', '348'], ['2026-04-02', '96'], ['2026-04-03', '48']]);
    // A late sample at Apr 1 12:00 (1.5 GB) cuts the 16 GB interval in two: 6×10 + 6×16 + 12×1.5 = 174.
    expect((await s.request('POST', '/v1/events', [sample('g4', '2026-04-01T12:00:00Z', '1.5')])).body.accepted).toBe(1);
    expect(await days()).toEqual([['2026-04-01', '174'], ['2026-04-02', '96'], ['2026-04-03', '48']]);
    // Apr 2 in Berlin (UTC+2, CEST) starts at Apr 1 22:00 UTC: 2 h × 1.5 + 22 h × 4 = 91; 20 minutes is 1/3 hour → rounded half-even at 12 digits.
    const berlin = (await s.request('GET', '/v1/meters/storage_gb_hours/query?tenant=store-t&from=2026-04-01T22:00:00Z&to=2026-04-02T22:00:00Z&windowSize=DAY&windowTimeZone=Europe/Berlin')).body;
    expect(berlin.data.map((r: { value: string }) => r.value)).toEqual(['91']);
    const third = (await s.request('GET', '/v1/meters/storage_gb_hours/query?tenant=store-t&from=2026-04-02T00:00:00Z&to=2026-04-02T00:20:00Z')).body;
    expect(third.data[0].value).toBe('1.333333333333');
    expect(third.aggregation).toBe('TIME_WEIGHTED_SUM');
    // Billing's raw recomputation of a closed period (Apr 1 and 2) integrates the same samples: 174 + 96 GB-h.
    const registry = new MeterRegistry([def as MeterDefinition]);
    const billed = await rawUsageByTenant(s.store, registry, ['store-t', 'nobody'], Date.UTC(2026, 3, 1) * 1000, Date.UTC(2026, 3, 3) * 1000, [{ meter: 'storage_gb_hours', filter: null }, { meter: 'storage_gb_hours', filter: { disk: ['d2'] } }]);
    expect(billed.get('store-t')).toEqual([270n * SCALE, 0n]);
    expect(billed.get('nobody')).toEqual([0n, 0n]);
    // CSV says the same.
    const csv = await s.request('GET', `${q}&format=csv`);
    expect(String(csv.text ?? csv.body)).toContain('174');
  });

  it('refuses a timeUnit on other aggregations and a TIME_WEIGHTED_SUM without a value', () => {
    expect(meterSchema.safeParse({ slug: 'x', eventType: 'e', aggregation: 'SUM', valueProperty: '$.v', timeUnit: 'HOUR' }).success).toBe(false);
    expect(meterSchema.safeParse({ slug: 'x', eventType: 'e', aggregation: 'TIME_WEIGHTED_SUM' }).success).toBe(false);
    expect(meterSchema.safeParse({ slug: 'x', eventType: 'e', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.v', timeUnit: 'DAY' }).success).toBe(true);
  });
});
