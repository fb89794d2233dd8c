import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';
import { waitFor, WebhookReceiver } from './webhook-receiver.ts';

const WEEK = 7 * 86_400_000;
const call = (id: string, tenant: string, ms: number) => ({ specversion: '1.0', id, source: 't', type: 'call', subject: tenant, time: new Date(ms).toISOString(), data: {} });

describe('traffic rules through the alerts-evaluate job (embedded, rollups via the query layer)', () => {
  const NOW = '2026-11-25T15:00:00Z';
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      meters: [{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }],
      clock: fixedClock(NOW),
      config: {
        tenants: [{ id: 'steady' }, { id: 'dropping' }, { id: 'silent' }, { id: 'surging' }, { id: 'newcomer' }],
        alerts: {
          schedule: '0 0 1 1 *',
          rules: [
            { id: 'drop', kind: 'traffic-drop', meter: 'calls' },
            { id: 'silence', kind: 'traffic-silence', meter: 'calls', anomaly: { windowMinutes: 30 } },
            { id: 'spike', kind: 'traffic-spike', meter: 'calls' },
          ],
        },
      },
    });
    const now = Date.parse(NOW);
    const events: unknown[] = [];
    // Three past weeks at this hour: about 120 calls per tenant, spread over the hour.
    for (let k = 1; k <= 3; k++) for (const t of ['steady', 'dropping', 'silent', 'surging']) for (let m = 0, n = 120 + k; m < n; m++) events.push(call(`${t}-${k}-${m}`, t, now - k * WEEK - 3_600_000 + Math.floor((m * 3_590_000) / n)));
    // The last hour: steady as usual, dropping to 8 %, silent not at all, surging ×5; the newcomer
    // has no history (not watched).
    const last = { steady: 118, dropping: 10, silent: 0, surging: 600, newcomer: 500 };
    for (const [t, n] of Object.entries(last)) for (let m = 0; m < n; m++) events.push(call(`${t}-now-${m}`, t, now - 3_600_000 + Math.floor((m * 3_590_000) / n)));
    for (let i = 0; i < events.length; i += 5000) expect((await s.request('POST', '/v1/events', events.slice(i, i + 5000))).status).toBe(200);
  });
  afterAll(() => s.close());

  it('fires drop, silence and spike for the tenants that have them, nothing for the steady one or the newcomer', async () => {
    const run = await s.request('POST', '/v1/jobs/alerts-evaluate/run', { range: 'test' });
    expect(run.body.run).toMatchObject({ status: 'succeeded', output: { rules: 3, fired: 4, errors: [] } });
    const firing = (await s.request('GET', '/v1/alerts?state=firing')).body.data as { rule: string; tenant: string; details: { observed: number; median: number; weeks: number } }[];
    expect(firing.map((a) => `${a.rule} ${a.tenant}`).sort()).toEqual(['drop dropping', 'drop silent', 'silence silent', 'spike surging']);
    expect(firing.find((a) => a.rule === 'spike')!.details).toMatchObject({ observed: 600, median: 122, weeks: 3 });
    // Asked again: the same alerts, nothing new.
    expect((await s.request('POST', '/v1/jobs/alerts-evaluate/run', { range: 'again' })).body.run.output).toMatchObject({ fired: 0, resolved: 0 });
  });

  it('refuses bad rules with the registry codes', async () => {
    const bad = await s.request('POST', '/v1/alerts/rules', { kind: 'quota', meter: 'nope', channels: ['ep_missing'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: 'body.meter', message: 'unknown meter "nope"' }, { path: 'body.channels.0', message: 'unknown endpoint "ep_missing"' }]);
    expect((await s.request('POST', '/v1/alerts/rules', { kind: 'traffic-spike' })).body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('a traffic-spike rule needs a meter') });
    expect((await s.request('PUT', '/v1/alerts/rules/drop', { kind: 'traffic-drop', meter: 'calls' })).body.error.code).toBe('CONFLICT');
    expect((await s.request('POST', '/v1/alerts/rules', { id: 'drop', kind: 'traffic-drop', meter: 'calls' })).body.error.code).toBe('CONFLICT');
    expect((await s.request('DELETE', '/v1/alerts/rules/none')).status).toBe(404);
  });
});

describe('tenant-bound keys and their own webhook endpoints', () => {
  let s: TestServer;
  const receiver = new WebhookReceiver();
  beforeAll(async () => {
    s = await startTestServer({
      meters: [{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }],
      config: { plans: [{ id: 'free', entitlements: [{ meter: 'calls', period: 'month', limit: 10 }] }], tenants: [{ id: 'acme', plan: 'free' }, { id: 'globex', plan: 'free' }], alerts: { schedule: '* * * * * *', delivery: { pollMs: 100 } } },
    });
  });
  afterAll(async () => {
    await s.close();
    await receiver.close();
  });

  it("a portal key manages its tenant's endpoint and receives only its tenant's quota alerts", async () => {
    const portal = (await s.request('POST', '/v1/keys', { name: 'acme portal', scopes: ['read'], tenant: 'acme' })).body.token as string;
    const as = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(s.url + path, { method, headers: { authorization: `Bearer ${portal}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const hook = await receiver.listen();
    const ep = await as('POST', '/v1/alerts/endpoints', { url: hook });
    expect(ep.status).toBe(201);
    expect(ep.body).toMatchObject({ tenant: 'acme', kinds: ['quota'] });
    receiver.secret = ep.body.secret as string;
    expect((await as('POST', '/v1/alerts/endpoints', { url: hook, tenant: 'globex' })).body.error.code).toBe('FORBIDDEN');
    expect((await as('POST', '/v1/alerts/endpoints', { url: hook, kinds: ['traffic-drop'] })).body.error.code).toBe('FORBIDDEN');
    expect((await as('POST', '/v1/alerts/rules', { kind: 'quota', meter: 'calls' })).status).toBe(403);
    const other = (await s.request('POST', '/v1/alerts/endpoints', { url: hook, description: 'ops' })).body;
    expect((await as('GET', '/v1/alerts/endpoints')).body.data.map((e: { id: string }) => e.id)).toEqual([ep.body.id]);
    expect((await as('GET', `/v1/alerts/endpoints/${other.id}`)).status).toBe(404);

    // An operator's quota rule with no channels: the tenant's endpoint gets its tenant's alerts.
    expect((await s.request('POST', '/v1/alerts/rules', { id: 'quota', kind: 'quota', meter: 'calls' })).status).toBe(201);
    const now = new Date().toISOString();
    for (const t of ['acme', 'globex']) await s.request('POST', '/v1/events', Array.from({ length: 8 }, (_, i) => ({ specversion: '1.0', id: `${t}${i}`, source: 't', type: 'call', subject: t, time: now, data: {} })));
    await waitFor("acme's 80 % alert", () => receiver.ofType('alert.firing').length >= 1);
    await waitFor('both alerts recorded', async () => ((await s.request('GET', '/v1/alerts')).body.data as unknown[]).length === 2);
    const runs = async () => ((await s.request('GET', '/v1/jobs?job=alerts-evaluate&limit=1000')).body.runs as unknown[]).length;
    const before = await runs();
    await waitFor('two more evaluations', async () => (await runs()) >= before + 2);
    expect(receiver.ofType('alert.firing').map((r) => (r.payload!.data.alert as { tenant: string }).tenant)).toEqual(['acme']);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect((await as('GET', '/v1/alerts')).body.data.map((a: { tenant: string }) => a.tenant)).toEqual(['acme']);
    expect((await as('GET', '/v1/alerts?tenant=globex')).status).toBe(403);
    expect((await as('GET', '/v1/alerts/deliveries')).body.data.every((m: { tenant: string }) => m.tenant === 'acme')).toBe(true);
  }, 60_000);
});
