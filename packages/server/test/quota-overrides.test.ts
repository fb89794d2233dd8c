import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';
import { QUOTA_METERS } from './quota-setup.ts';

const clock = fixedClock('2026-04-11T12:00:00Z');
const dataDir = mkdtempSync(join(tmpdir(), 'tally-quota-overrides-'));
const CONFIG = {
  plans: [
    { id: 'free', entitlements: [{ meter: 'calls', period: 'month', limit: 10 }] },
    { id: 'pro', entitlements: [{ meter: 'calls', period: 'month', limit: 100 }, { meter: 'completions', period: 'day', limit: 5 }] },
  ],
  tenants: [{ id: 'globex', plan: 'free' }],
};
const start = () => startTestServer({ meters: QUOTA_METERS, clock, dataDir, config: CONFIG });
let s: TestServer;
afterAll(async () => {
  await s?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const call = (key: string) => s.request('POST', '/v1/quota/consume', { tenant: 'globex', meter: 'calls', idempotencyKey: key, data: { ms: 1 } });
const put = (body: unknown) => s.request('PUT', '/v1/tenants/globex', body);

describe('run-time overrides: PUT /v1/tenants/{tenant} (embedded)', () => {
  it('changes a limit and a plan assignment at once, persists them, and audits every change', async () => {
    s = await start();
    const lowered = await put({ entitlements: { calls: { limit: 3 } } });
    expect(lowered.status).toBe(200);
    expect(lowered.body).toMatchObject({ plan: 'free', overrides: { entitlements: { calls: { limit: 3 } } }, data: [{ id: 'calls', limit: '3' }] });
    const keyId = lowered.body.overrides.updatedBy;
    expect(keyId).toMatch(/^key_/);
    expect([(await call('a')).status, (await call('b')).status, (await call('c')).status, (await call('d')).status]).toEqual([200, 200, 200, 429]);

    const moved = await put({ plan: 'pro' });
    // Seeded from the rollups for the new plan's entitlements: the 3 calls already made count.
    expect(moved.body).toMatchObject({ plan: 'pro', data: [{ id: 'calls', usage: '3', limit: '100' }, { id: 'completions', usage: '0', limit: '5' }] });
    expect((await call('d')).status).toBe(200);

    await s.close();
    s = await start();
    expect((await s.request('GET', '/v1/tenants/globex/entitlements')).body).toMatchObject({ plan: 'pro', overrides: { plan: 'pro' }, data: [{ id: 'calls', usage: '4' }, { id: 'completions' }] });

    const bad = await put({ plan: 'nope', entitlements: {} });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await put({ entitlements: { nope: { limit: 1 } } })).body.error.details).toEqual([{ path: 'body.entitlements.nope', message: 'plan "free" has no entitlement "nope"' }]);
    expect((await put({ plan: 'pro', entitlements: { calls: { limit: '-1' } } })).status).toBe(400);

    const cleared = await put({ plan: null });
    expect(cleared.body).toMatchObject({ plan: 'free', data: [{ id: 'calls', usage: '4', limit: '10' }] });
    expect(cleared.body.overrides).toBeUndefined();

    const audit = await s.request('GET', '/v1/events?type=tally.quota.override&tenant=globex');
    // The test clock stands still, so the three share an instant: ordered by their version.
    audit.body.data.sort((a: { data: { version: number } }, b: { data: { version: number } }) => a.data.version - b.data.version);
    expect(audit.body.data.map((e: { data: { by: string; version: number; before: unknown; after: unknown } }) => [e.data.by, e.data.version, e.data.before === null ? null : 'set', e.data.after === null ? null : 'set'])).toEqual([
      [keyId, 1, null, 'set'],
      [keyId, 2, 'set', 'set'],
      [keyId, 3, 'set', null],
    ]);
    expect(audit.body.data[1].data.after).toMatchObject({ plan: 'pro', entitlements: {} });
  });

  it('portal keys cannot change a tenant', async () => {
    const portal = await s.request('POST', '/v1/keys', { name: 'p', scopes: ['read'], tenant: 'globex' });
    const r = await s.request('PUT', '/v1/tenants/globex', { plan: 'pro' }, { token: portal.body.token });
    expect(r.status).toBe(403);
  });
});
