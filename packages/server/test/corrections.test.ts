import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/** #16: corrections, never deletions (void and amend), embedded profile. */
const clock = fixedClock('2026-04-20T12:00:00Z');
const PLANS = [{ id: 'metered', currency: 'USD', prices: [{ meter: 'bytes', model: 'unit', unitPrice: '0.01' }, { meter: 'requests', model: 'unit', unitPrice: '1' }], entitlements: [{ meter: 'bytes', period: 'month', limit: '100000' }] }];
let s: TestServer;
const dataDir = mkdtempSync(join(tmpdir(), 'tally-corrections-'));
const start = () => startTestServer({ meters: TEST_METERS, clock, dataDir, config: { plans: PLANS, tenants: [{ id: 'acme', plan: 'metered' }] } });
const q = async (meter: string, extra = '') => (await s.request('GET', `/v1/meters/${meter}/query?tenant=acme&from=2026-04-01T00:00:00Z&to=2026-04-21T00:00:00Z${extra}`)).body.data as { value: string; groupBy: Record<string, string> }[];

beforeAll(async () => {
  s = await start();
  const events = [
    ce('a1', 'acme', '2026-04-10T10:00:00Z', { route: '/a', method: 'GET', bytes: '100.5', ms: 3 }, { actor: 'u1' }),
    ce('a2', 'acme', '2026-04-10T10:00:30Z', { route: '/a', method: 'GET', bytes: 200, ms: 9 }, { actor: 'u2' }),
    ce('a3', 'acme', '2026-04-11T08:00:00Z', { route: '/b', method: 'POST', bytes: 50, ms: 5 }, { actor: 'u1' }),
  ];
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(3);
});
afterAll(async () => {
  await s.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('corrections', () => {
  it('a void changes totals, every aggregation, live counters and the next invoice exactly; the original stays in the raw table', async () => {
    expect((await q('requests'))[0]!.value).toBe('3');
    expect((await q('bytes'))[0]!.value).toBe('350.5');
    expect((await q('latency_max'))[0]!.value).toBe('9');
    expect((await s.request('GET', '/v1/tenants/acme/entitlements/bytes')).body.usage).toBe('350.5');
    const before = (await s.request('GET', '/v1/tenants/acme/invoices/upcoming')).body;
    expect(before.lines.map((l: { quantity: string }) => l.quantity)).toEqual(['350.5', '3']);

    const v = await s.request('POST', '/v1/events/acme/a2/void', { reason: 'test traffic' });
    expect(v.status).toBe(201);
    expect(v.body).toMatchObject({ tenant: 'acme', action: 'void', event: 'a2', eventType: 'api.request', reason: 'test traffic', replacement: null, time: '2026-04-10T10:00:30.000Z' });
    expect(v.body.keyId).toMatch(/.+/);

    expect((await q('requests'))[0]!.value).toBe('2');
    expect((await q('bytes'))[0]!.value).toBe('150.5');
    expect((await q('bytes', '&groupBy=route')).map((r) => [r.groupBy.route, r.value])).toEqual([['/a', '100.5'], ['/b', '50']]);
    expect((await q('latency_max'))[0]!.value).toBe('5');
    expect((await q('latency_avg'))[0]!.value).toBe('4');
    expect((await q('latest_ms'))[0]!.value).toBe('5');
    expect((await q('users'))[0]!.value).toBe('1');
    // Day windows (rollups) and minute-cut windows (raw) agree.
    expect((await q('requests', '&windowSize=DAY')).map((r) => r.value)).toEqual(['1', '1']);
    expect((await s.request('GET', '/v1/meters/requests/query?tenant=acme&from=2026-04-10T10:00:10Z&to=2026-04-10T10:00:50Z')).body.data).toEqual([]);
    expect((await s.request('GET', '/v1/tenants/acme/entitlements/bytes')).body.usage).toBe('150.5');
    const after = (await s.request('GET', '/v1/tenants/acme/invoices/upcoming')).body;
    expect(after.lines.map((l: { quantity: string; amountExact: string }) => [l.quantity, l.amountExact])).toEqual([['150.5', '1.505'], ['2', '2']]);

    // The original is still a raw event; the correction is listed with it and in GET /v1/events.
    expect((await s.request('GET', '/v1/events?tenant=acme&id=a2')).body.data).toHaveLength(1);
    const one = await s.request('GET', '/v1/events/acme/a2');
    expect(one.body.event.id).toBe('a2');
    expect(one.body.corrections.map((c: { id: string }) => c.id)).toEqual([v.body.id]);
    const listed = await s.request('GET', '/v1/events?type=tally.correction');
    expect(listed.body.data.map((e: { id: string; data: { target: { id: string } } }) => [e.id, e.data.target.id])).toEqual([[v.body.id, 'a2']]);

    // One correction per event; a correction itself cannot be corrected; unknown events are 404.
    const again = await s.request('POST', '/v1/events/acme/a2/void', { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_CORRECTED');
    expect((await s.request('POST', `/v1/events/acme/${v.body.id}/void`, { reason: 'x' })).status).toBe(400);
    expect((await s.request('POST', '/v1/events/acme/nope/void', { reason: 'x' })).status).toBe(404);
    expect((await s.request('POST', '/v1/events/acme/a1/void', {})).status).toBe(400);
    // Nobody can forge a correction through ingest.
    const forged = await s.request('POST', '/v1/events', { ...ce('f1', 'acme', '2026-04-10T10:00:00Z', { target: { id: 'a1', type: 'api.request', data: { bytes: 100 } } }), type: 'tally.correction' });
    expect(forged.body.error.code).toBe('RESERVED_NAMESPACE');
    const portal = (await s.request('POST', '/v1/keys', { name: 'p', scopes: ['read'], tenant: 'acme' })).body.token as string;
    expect((await s.request('POST', '/v1/events/acme/a1/void', { reason: 'x' }, { token: portal })).status).toBe(403);
  });

  it('an amend voids and replaces: the replacement counts instead', async () => {
    const r = await s.request('POST', '/v1/events/acme/a1/amend', { reason: 'wrong byte count', event: ce('a1-fixed', 'acme', '2026-04-10T10:00:00Z', { route: '/a', method: 'GET', bytes: 70, ms: 2 }) });
    expect(r.status).toBe(201);
    expect(r.body.correction).toMatchObject({ action: 'amend', event: 'a1', replacement: 'a1-fixed' });
    expect(r.body.replacement).toMatchObject({ id: 'a1-fixed', status: 'accepted' });
    expect((await q('requests'))[0]!.value).toBe('2');
    expect((await q('bytes'))[0]!.value).toBe('120');
    expect((await q('latency_min'))[0]!.value).toBe('2');
    expect((await s.request('GET', '/v1/tenants/acme/entitlements/bytes')).body.usage).toBe('120');
    const inv = (await s.request('GET', '/v1/tenants/acme/invoices/upcoming')).body;
    expect(inv.lines.map((l: { quantity: string }) => l.quantity)).toEqual(['120', '2']);
    const fixed = await s.request('GET', '/v1/events/acme/a1-fixed');
    expect(fixed.body.corrections.map((c: { event: string }) => c.event)).toEqual(['a1']);
    // A replacement that is itself invalid stores nothing and voids nothing.
    const bad = await s.request('POST', '/v1/events/acme/a3/amend', { reason: 'x', event: ce('a3-fixed', 'acme', 'not a time', { route: '/b' }) });
    expect(bad.status).toBe(400);
    expect((await q('requests'))[0]!.value).toBe('2');
  });

  it('survives a restart: rollups, the seeded live counters and queries still account for the corrections', async () => {
    await s.close();
    s = await start();
    expect((await q('bytes'))[0]!.value).toBe('120');
    expect((await q('requests'))[0]!.value).toBe('2');
    expect((await q('latency_max'))[0]!.value).toBe('5');
    expect((await s.request('GET', '/v1/tenants/acme/entitlements/bytes')).body.usage).toBe('120');
  });
});
