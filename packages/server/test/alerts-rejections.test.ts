import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';
import { waitFor } from './webhook-receiver.ts';

/**
 * #17 per-tenant ingest rejection rate (embedded): the node counts each client request's
 * outcomes per tenant, records them as tally.ingest.stats events once the minute is over, and the
 * ingest-rejections rule fires for the tenant whose rate crosses the threshold — not for the one
 * with a few rejections among many, nor for events without a valid tenant.
 */
const clock = fixedClock('2026-06-01T09:00:05Z');
let s: TestServer;
const ev = (id: string, tenant: unknown, time = '2026-06-01T09:00:00Z') => ({ specversion: '1.0', id, source: 'test', type: 'call', subject: tenant, time, data: {} });
const evaluate = async (range: string) => (await s.request('POST', '/v1/jobs/alerts-evaluate/run', { range })).body.run.output as Record<string, unknown>;
const stats = async () => (await s.request('GET', '/v1/events?type=tally.ingest.stats&limit=100')).body.data as { tenant: string; source: string; time: string; data: Record<string, unknown> }[];

beforeAll(async () => {
  s = await startTestServer({
    meters: [{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }],
    clock,
    config: {
      tenants: [{ id: 'good' }, { id: 'bad' }],
      alerts: { schedule: '0 0 1 1 *', ingestStats: { enabled: true, flushSeconds: 1 }, rules: [{ id: 'rej', kind: 'ingest-rejections', rejection: { rate: '10%', minEvents: 10, windowMinutes: 5 } }] },
    },
  });
});
afterAll(() => s.close());

describe('ingest-rejections rule (embedded)', () => {
  it('counts per tenant, records each minute, fires for the tenant over the rate and resolves', async () => {
    const good = [...Array.from({ length: 40 }, (_, i) => ev(`g${i}`, 'good')), ev('g-late', 'good', '2020-01-01T00:00:00Z'), ev('g0', 'good')];
    const bad = [...Array.from({ length: 20 }, (_, i) => ev(`b${i}`, 'bad')), ...Array.from({ length: 5 }, (_, i) => ev(`b-future-${i}`, 'bad', '2027-01-01T00:00:00Z'))];
    const anonymous = [ev('x1', ''), ev('x2', 42), { nonsense: true }];
    expect((await s.request('POST', '/v1/events', [...good, ...bad, ...anonymous])).body).toMatchObject({ accepted: 60, duplicates: 1, rejected: 9 });
    // Tally's own events are not counted (the canary, quota warnings, the statistics themselves).
    expect(await stats()).toEqual([]);
    clock.set('2026-06-01T09:01:05Z'); // the minute is over: the node records it within a flush
    await waitFor('the recorded statistics', async () => (await stats()).length === 2, 20_000);
    const recorded = await stats();
    expect(recorded.map((e) => [e.tenant, e.source, e.time, e.data]).sort()).toEqual([
      ['bad', 'tally/ingest-stats', '2026-06-01T09:00:00.000Z', { accepted: 20, duplicates: 0, rejected: 5, codes: { INVALID_TIME: 5 } }],
      ['good', 'tally/ingest-stats', '2026-06-01T09:00:00.000Z', { accepted: 40, duplicates: 1, rejected: 1, codes: { INVALID_TIME: 1 } }],
    ]);
    // The statistics are not usage: the calls meter counts only the accepted calls.
    expect((await s.request('GET', '/v1/meters/calls/query?from=2026-06-01T09:00:00Z&to=2026-06-01T09:01:00Z')).body.data[0].value).toBe('60');

    expect(await evaluate('first')).toMatchObject({ fired: 1, errors: [] });
    const alerts = (await s.request('GET', '/v1/alerts?rule=rej')).body.data as { subject: string; tenant: string; state: string; summary: string; details: Record<string, unknown> }[];
    expect(alerts).toMatchObject([{ subject: 'bad', tenant: 'bad', state: 'firing', details: { sent: 25, rejected: 5, accepted: 20, codes: { INVALID_TIME: 5 } } }]);
    expect(alerts[0]!.summary).toBe('bad: 5 of 25 events rejected (20.0 %, threshold 10%) in the 5 min to 2026-06-01T09:01:00.000Z: INVALID_TIME 5');
    expect(await evaluate('again')).toMatchObject({ fired: 0, resolved: 0 });
    clock.set('2026-06-01T09:07:05Z'); // the minute left the 5-minute window
    expect(await evaluate('later')).toMatchObject({ fired: 0, resolved: 1 });
  });

  it('refuses an ingest-rejections rule where the statistics are off', async () => {
    const other = await startTestServer({ meters: [], config: {} });
    try {
      const r = await other.request('POST', '/v1/alerts/rules', { kind: 'ingest-rejections' });
      expect(r.status).toBe(400);
      expect(r.body.error.details).toEqual([{ path: 'body.kind', message: 'ingest-rejections rules need alerts.ingestStats.enabled: true (per-tenant ingest statistics)' }]);
    } finally {
      await other.close();
    }
  });
});
