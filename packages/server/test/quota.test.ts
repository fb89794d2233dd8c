import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';
import { call, QUOTA_CONFIG, QUOTA_METERS } from './quota-setup.ts';

const clock = fixedClock('2026-04-11T00:00:00Z');
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: QUOTA_METERS, clock, config: QUOTA_CONFIG });
});
afterAll(async () => {
  await s.close();
});

// `latency` (MAX of $.ms) also reads api.call events, so a call consumption carries `ms`.
const consume = (body: Record<string, unknown>) => s.request('POST', '/v1/quota/consume', body.meter === 'calls' && !('data' in body) ? { ...body, data: { ms: 3 } } : body);
const ent = (tenant: string, meter: string, token?: string) => s.request('GET', `/v1/tenants/${tenant}/entitlements/${meter}`, undefined, token ? { token } : {});

describe('entitlements', () => {
  it('counts ingested events of the current period live and projects the period end', async () => {
    clock.set('2026-04-11T00:00:00Z'); // 10 of April's 30 days elapsed
    const r = await s.request('POST', '/v1/events', [
      call('g1', 'globex', '2026-04-01T00:00:00Z'),
      call('g2', 'globex', '2026-04-05T00:00:00Z'),
      call('g3', 'globex', '2026-04-10T23:59:59Z'),
      call('g4', 'globex', '2026-04-10T23:59:59Z'),
      call('g0', 'globex', '2026-03-31T23:59:59Z'), // March: a closed period
      call('g1', 'globex', '2026-04-01T00:00:00Z'), // a re-send counts once
    ]);
    expect(r.body).toMatchObject({ accepted: 5, duplicates: 1 });
    const e = await ent('globex', 'calls');
    expect(e.status).toBe(200);
    // projected = usage × period / elapsed = 4 × 30 / 10
    expect(e.body).toEqual({
      tenant: 'globex', id: 'calls', meter: 'calls', filter: {}, plan: 'free', enforcement: 'hard', mode: 'central', failurePolicy: 'closed', period: 'month', timeZone: 'UTC',
      periodStart: '2026-04-01T00:00:00.000Z', resetAt: '2026-05-01T00:00:00.000Z',
      hasAccess: true, usage: '4', limit: '10', remaining: '6', overage: '0', projected: '12', overageProjected: true,
      // No forecast curve yet (the quota-forecasts job has not run): the linear projection, said so.
      projectionMethod: 'linear', projectionBasis: 'Linear: the usage so far at the same pace for the rest of the period (the usage itself during its first tenth).',
      included: '10', grantAllowance: '0', grantBalance: '0', grants: [],
    });
    const all = await s.request('GET', '/v1/tenants/globex/entitlements');
    expect(all.body.plan).toBe('free');
    expect(all.body.data.map((x: { meter: string; usage: string }) => [x.meter, x.usage])).toEqual([['calls', '4'], ['completions', '0'], ['tokens', '0']]);
  });

  it('does not extrapolate during the first tenth of a period', async () => {
    clock.set('2026-04-03T00:00:00Z'); // 2 of 30 days
    expect((await ent('globex', 'calls')).body).toMatchObject({ usage: '4', projected: '4', overageProjected: false });
    clock.set('2026-04-04T00:00:00Z'); // exactly 1/10: 4 × 30 / 3
    expect((await ent('globex', 'calls')).body).toMatchObject({ projected: '40' });
    clock.set('2026-04-11T00:00:00Z');
  });

  it('resets at the month boundary of the entitlement time zone', async () => {
    clock.set('2026-04-01T03:58:00Z'); // 23:58 on March 31 in New York
    await s.request('POST', '/v1/events', [
      call('n1', 'nyco', '2026-03-01T04:30:00Z'), // Feb 28 in New York: not this period
      call('n2', 'nyco', '2026-03-01T05:00:00Z'),
      call('n3', 'nyco', '2026-04-01T02:00:00Z'),
      call('n4', 'nyco', '2026-04-01T04:01:00Z'), // 4 minutes early for April (clock skew allowance)
    ]);
    expect((await ent('nyco', 'calls')).body).toMatchObject({ periodStart: '2026-03-01T05:00:00.000Z', resetAt: '2026-04-01T04:00:00.000Z', usage: '2' });
    clock.set('2026-04-01T04:00:00Z');
    expect((await ent('nyco', 'calls')).body).toMatchObject({ periodStart: '2026-04-01T04:00:00.000Z', resetAt: '2026-05-01T04:00:00.000Z', usage: '1' });
    clock.set('2026-04-11T00:00:00Z');
  });

  it('binds portal keys to their tenant and answers 404 without an entitlement', async () => {
    const key = await s.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'globex' });
    expect((await ent('globex', 'calls', key.body.token)).status).toBe(200);
    const other = await ent('nyco', 'calls', key.body.token);
    expect([other.status, other.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect((await s.request('GET', '/v1/quota/warnings?tenant=nyco', undefined, { token: key.body.token })).status).toBe(403);
    expect((await ent('globex', 'latency')).body.error.code).toBe('NOT_FOUND');
    expect((await s.request('GET', '/v1/tenants/nobody/entitlements')).body).toEqual({ tenant: 'nobody', plan: null, data: [] });
  });
});

describe('POST /v1/quota/consume', () => {
  it('grants exactly the limit under many parallel calls and records nothing for denials', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => consume({ tenant: 'storm', meter: 'calls', amount: 1, idempotencyKey: `storm-${i}` })));
    const codes = answers.map((a) => a.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.filter((c) => c === 429)).toHaveLength(30);
    const denied = answers.find((a) => a.status === 429)!;
    expect(denied.body.error.code).toBe('QUOTA_EXCEEDED');
    expect(denied.body.error.details.violated[0]).toMatchObject({ meter: 'calls', usage: '10', limit: '10', resetAt: '2026-05-01T00:00:00.000Z' });
    expect(denied.headers.get('retry-after')).toBe(String(20 * 86_400)); // until May 1
    expect((await ent('storm', 'calls')).body).toMatchObject({ usage: '10', remaining: '0', hasAccess: false });
    // The batch layer agrees: exactly 10 consumption events were stored.
    const q = await s.request('GET', '/v1/meters/calls/query?tenant=storm&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(q.body.data[0].value).toBe('10');
  });

  it('counts a retried idempotency key once, concurrently and sequentially, even once the quota is full', async () => {
    const first = await Promise.all(Array.from({ length: 5 }, () => consume({ tenant: 'idem', meter: 'calls', idempotencyKey: 'k1' })));
    expect(first.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(first.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    for (let i = 2; i <= 10; i++) expect((await consume({ tenant: 'idem', meter: 'calls', idempotencyKey: `k${i}` })).body).toMatchObject({ granted: true, duplicate: false, usage: String(i) });
    const retry = await consume({ tenant: 'idem', meter: 'calls', idempotencyKey: 'k1' });
    expect([retry.status, retry.body.duplicate, retry.body.usage]).toEqual([200, true, '10']);
    expect((await consume({ tenant: 'idem', meter: 'calls', idempotencyKey: 'k11' })).status).toBe(429);
  });

  it('checks every entitlement the usage event counts toward, all or nothing', async () => {
    const ok = await consume({ tenant: 'multi', meter: 'tokens', amount: '999.999999999999', idempotencyKey: 't1', data: { model: 'm' } });
    expect(ok.body).toMatchObject({ granted: true, amount: '999.999999999999', usage: '999.999999999999', remaining: '0.000000000001' });
    expect((await ent('multi', 'completions')).body.usage).toBe('1');
    const over = await consume({ tenant: 'multi', meter: 'tokens', amount: '0.000000000002', idempotencyKey: 't2', data: { model: 'm' } });
    expect(over.status).toBe(429);
    expect((await ent('multi', 'completions')).body.usage).toBe('1'); // the COUNT entitlement was not touched
    const exact = await consume({ tenant: 'multi', meter: 'tokens', amount: '0.000000000001', idempotencyKey: 't3', data: { model: 'm' } });
    expect(exact.body).toMatchObject({ usage: '1000', hasAccess: false });
    const q = await s.request('GET', '/v1/meters/tokens/query?tenant=multi&from=2026-04-10T00:00:00Z&to=2026-04-12T00:00:00Z');
    expect(q.body.data[0].value).toBe('1000');
  });

  it('validates the request', async () => {
    expect((await consume({ tenant: 'multi', meter: 'calls', amount: 2, idempotencyKey: 'v1' })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await consume({ tenant: 'multi', meter: 'tokens', amount: '-1', idempotencyKey: 'v2' })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await consume({ tenant: 'multi', meter: 'tokens', amount: '1e-13', idempotencyKey: 'v3' })).body.error.code).toBe('VALUE_OUT_OF_RANGE');
    expect((await consume({ tenant: 'multi', meter: 'latency', idempotencyKey: 'v4' })).body.error.code).toBe('NOT_FOUND');
    expect((await consume({ tenant: 'multi', meter: 'calls', idempotencyKey: 'v5', extra: 1 })).body.error.code).toBe('VALIDATION_FAILED');
    const noMs = await consume({ tenant: 'multi', meter: 'calls', idempotencyKey: 'v6', data: {} });
    expect([noMs.status, noMs.body.error.code]).toEqual([400, 'INVALID_METER_VALUE']);
    expect((await ent('multi', 'calls')).body.usage).toBe('0');
  });

  it("enforces the plan's rate-limit policies with IETF RateLimit headers", async () => {
    const a = await consume({ tenant: 'busy', meter: 'calls', idempotencyKey: 'b1' });
    expect(a.headers.get('ratelimit-policy')).toBe('"burst";q=2;w=10');
    expect(a.headers.get('ratelimit')).toMatch(/^"burst";r=1;t=\d+$/);
    await consume({ tenant: 'busy', meter: 'calls', idempotencyKey: 'b2' });
    const c = await consume({ tenant: 'busy', meter: 'calls', idempotencyKey: 'b3' });
    expect([c.status, c.body.error.code, c.headers.get('retry-after')]).toEqual([429, 'RATE_LIMITED', '5']);
    expect((await ent('busy', 'calls')).body.usage).toBe('2');
  });
});

describe('OpenAPI', () => {
  it('documents the quota routes from their schemas', async () => {
    const doc = (await s.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths).filter((p) => p.includes('quota') || p.includes('entitlements')).sort()).toEqual([
      '/v1/quota/consume',
      '/v1/quota/warnings',
      '/v1/tenants/{tenant}/entitlements',
      '/v1/tenants/{tenant}/entitlements/{meter}',
    ]);
    expect(Object.keys(doc.paths['/v1/quota/consume']!.post!.responses)).toEqual(expect.arrayContaining(['200', '429']));
  });
});
