import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock, TEST_METERS } from './helpers.ts';

/** #16 canaries on the embedded profile: fed through the public ingest path, checked everywhere, never billed. */
const clock = fixedClock('2026-05-01T10:00:10Z');
const CANARY = { enabled: true, tenant: '_canary', meter: 'requests', data: { route: '/canary', method: 'GET', bytes: 0, ms: 1 }, events: 3, schedule: '0 0 1 1 *', sloSeconds: 30, windowSeconds: 600 };
let s: TestServer;
type Run = { status: string; output: { sent: { accepted: number }; lagSeconds: number | null; rules: { rule: string; status: string; results: { expected: string; actual: string }[] }[] } };
const run = async (): Promise<Run> => (await s.request('POST', '/v1/jobs/canary/run', { range: new Date(clock.nowMicros() / 1000).toISOString() })).body.run as Run;

beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock, config: { audit: { canary: CANARY }, alerts: { schedule: '0 0 1 1 *', rules: [{ id: 'canaries', kind: 'canary' }] } } });
});
afterAll(async () => {
  await s.close();
});

describe('canaries (embedded)', () => {
  it('sends known events through the public ingest path and finds them in raw, rollups and queries', async () => {
    const first = await run();
    expect(first.status).toBe('succeeded');
    expect(first.output.sent).toMatchObject({ accepted: 3 });
    expect(first.output.sent).not.toHaveProperty('error');
    expect(first.output.rules.map((r) => [r.rule, r.status])).toEqual([['canary.ingest', 'ok'], ['canary.raw', 'ok'], ['canary.rollups', 'ok'], ['canary.query', 'ok']]);
    clock.set('2026-05-01T10:01:10Z');
    const second = await run();
    expect(second.output.rules.find((r) => r.rule === 'canary.raw')!.results).toEqual([]);
    clock.set('2026-05-01T10:02:10Z');
    const third = await run();
    expect(third.output.rules.every((r) => r.status === 'ok')).toBe(true);
    expect(third.output.lagSeconds).toBe(0);
    // The raw events behind the checks: 3 per run, through the public API (source tally-canary).
    const raw = (await s.request('GET', '/v1/events?tenant=_canary&limit=100')).body.data as { source: string }[];
    expect(raw.map((e) => e.source)).toEqual(Array(9).fill('tally-canary'));
    const latest = (await s.request('GET', '/v1/reconciliation')).body.rules as { rule: string; status: string }[];
    expect(latest.filter((r) => r.rule.startsWith('canary.')).map((r) => [r.rule, r.status])).toEqual([['canary.ingest', 'ok'], ['canary.query', 'ok'], ['canary.raw', 'ok'], ['canary.rollups', 'ok']]);
    expect(await fetch(`${s.url}/metrics`).then((r) => r.text())).toMatch(/tally_canary_lag_seconds 0\n/);
  });

  it('is left out of all-tenant answers (usage queries, analytics), answered when named', async () => {
    const acme = [1, 2].map((i) => ({ specversion: '1.0', id: `acme-${i}`, source: 'test', type: 'api.request', subject: 'acme', time: '2026-05-01T10:00:30Z', data: { route: '/x', method: 'GET', bytes: 5, ms: 3 } }));
    expect((await s.request('POST', '/v1/events', acme)).body.accepted).toBe(2);
    const range = 'from=2026-05-01T09:00:00Z&to=2026-05-01T11:00:00Z';
    const query = async (extra: string) => ((await s.request('GET', `/v1/meters/requests/query?${range}${extra}`)).body.data as { tenant: string | null; value: string }[]).map((r) => [r.tenant, r.value]);
    expect(await query('')).toEqual([[null, '2']]);
    expect(await query('&groupBy=tenant')).toEqual([['acme', '2']]);
    expect(await query('&tenant=_canary')).toEqual([['_canary', '9']]);
    expect(await query('&tenant=_canary&tenant=acme&groupBy=tenant')).toEqual([['_canary', '9'], ['acme', '2']]);
    // A boundary inside a minute: answered from raw events, the canary left out there too.
    expect((await s.request('GET', `/v1/meters/users/query?from=2026-05-01T09:00:00Z&to=2026-05-01T10:02:30Z&groupBy=tenant`)).body.data).toEqual([]);
    expect(((await s.request('GET', `/v1/meters/requests/query?from=2026-05-01T09:00:00Z&to=2026-05-01T10:02:30Z&groupBy=tenant`)).body.data as { tenant: string }[]).map((r) => r.tenant)).toEqual(['acme']);
    const adoption = async (extra: string) => (await s.request('GET', `/v1/analytics/adoption?eventType=api.request&dimension=route&${range}${extra}`)).body as { activeTenants: number; features: { feature: string }[] };
    expect(await adoption('')).toMatchObject({ activeTenants: 1, features: [{ feature: '/x' }] });
    expect(await adoption('&tenant=_canary')).toMatchObject({ activeTenants: 1, features: [{ feature: '/canary' }] });
  });

  it('a canary event lost from the raw table is a canary.raw failure with the exact count', async () => {
    const conn = await (s.store as DuckDbStore).connect();
    await conn.run("DELETE FROM events WHERE tenant = '_canary' AND id = (SELECT min(id) FROM events WHERE tenant = '_canary')");
    conn.closeSync();
    clock.set('2026-05-01T10:03:10Z');
    const r = await run();
    expect(r.output.rules.filter((x) => x.status !== 'ok').map((x) => [x.rule, x.results[0]!.expected, x.results[0]!.actual])).toEqual([['canary.raw', '9', '8']]);
  });

  it('a failing canary check is an alert (rule kind canary) that resolves once the canary is ok again', async () => {
    const evaluate = async (range: string) => (await s.request('POST', '/v1/jobs/alerts-evaluate/run', { range })).body.run.output as Record<string, unknown>;
    expect(await evaluate('failing')).toMatchObject({ fired: 1, errors: [] });
    const alerts = (await s.request('GET', '/v1/alerts?rule=canaries')).body.data as { subject: string; state: string; tenant: string; summary: string }[];
    expect(alerts).toMatchObject([{ subject: 'canary.raw', state: 'firing', tenant: '_canary' }]);
    expect(alerts[0]!.summary).toMatch(/canary rule canary\.raw: 1 of 1 checks differ .*expected 9, actual 8, difference -1 events/);
    expect(await evaluate('still')).toMatchObject({ fired: 0, resolved: 0 });
    // The batch with the lost event leaves the checked window: the next runs are ok.
    clock.set('2026-05-01T10:12:10Z');
    expect((await run()).output.rules.every((x) => x.status === 'ok')).toBe(true);
    expect(await evaluate('ok')).toMatchObject({ fired: 0, resolved: 1 });
    expect(((await s.request('GET', '/v1/alerts?rule=canaries')).body.data as { state: string }[]).map((a) => a.state)).toEqual(['resolved']);
  });

  it('is never billed: a canary tenant on a priced plan is refused at start', async () => {
    await expect(startTestServer({ meters: TEST_METERS, config: { plans: [{ id: 'p', currency: 'USD', prices: [{ meter: 'requests', model: 'unit', unitPrice: '1' }] }], tenants: [{ id: '_canary', plan: 'p' }], audit: { canary: CANARY } } })).rejects.toThrow(/audit\.canary\.tenant.*never billed/);
    await expect(startTestServer({ meters: TEST_METERS, config: { audit: { canary: { ...CANARY, meter: 'bytes' } } } })).rejects.toThrow(/audit\.canary\.meter.*not a COUNT meter/);
  });
});
