import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';
import { QUOTA_METERS } from './quota-setup.ts';

const clock = fixedClock('2026-04-11T12:00:00Z');
const dataDir = mkdtempSync(join(tmpdir(), 'tally-quota-v2-'));
const CONFIG = {
  plans: [
    {
      id: 'llm',
      entitlements: [
        // Two limits on one meter (each with its own id) and one on a dimension slice of another.
        { id: 'completions-day', meter: 'completions', period: 'day', limit: 3 },
        { id: 'completions-month', meter: 'completions', period: 'month', limit: 5 },
        { id: 'gpt4-tokens', meter: 'tokens', period: 'day', limit: '100', filter: { model: 'gpt-4' } },
      ],
    },
  ],
  tenants: [{ id: 'acme', plan: 'llm' }],
};
const start = () => startTestServer({ meters: QUOTA_METERS, clock, dataDir, config: CONFIG });
let s: TestServer;
afterAll(async () => {
  await s?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const completion = (key: string, model: string, tokens: number) => s.request('POST', '/v1/quota/consume', { tenant: 'acme', meter: 'completions', idempotencyKey: key, data: { model, usage: { tokens } } });
const usages = async () => Object.fromEntries(((await s.request('GET', '/v1/tenants/acme/entitlements')).body.data as { id: string; usage: string }[]).map((e) => [e.id, e.usage]));

describe('entitlements v2 (embedded)', () => {
  it('checks every entitlement of a meter and its dimension slices atomically', async () => {
    s = await start();
    expect((await completion('c1', 'gpt-4', 60)).status).toBe(200);
    expect((await completion('c2', 'gpt-3.5', 500)).status).toBe(200); // not gpt-4: the token limit does not see it
    expect(await usages()).toEqual({ 'completions-day': '2', 'completions-month': '2', 'gpt4-tokens': '60' });
    const tooManyTokens = await completion('c3', 'gpt-4', 41);
    expect(tooManyTokens.status).toBe(429);
    expect(tooManyTokens.body.error.details.violated.map((v: { id: string }) => v.id)).toEqual(['gpt4-tokens']);
    expect(await usages()).toEqual({ 'completions-day': '2', 'completions-month': '2', 'gpt4-tokens': '60' }); // all or nothing
    expect((await completion('c4', 'gpt-4', 40)).status).toBe(200);
    const dayFull = await completion('c5', 'mistral', 1);
    expect([dayFull.status, dayFull.body.error.details.violated.map((v: { id: string }) => v.id)]).toEqual([429, ['completions-day']]);
    const one = await s.request('GET', '/v1/tenants/acme/entitlements/gpt4-tokens');
    expect(one.body).toMatchObject({ id: 'gpt4-tokens', meter: 'tokens', filter: { model: ['gpt-4'] }, usage: '100', hasAccess: false });
  });

  it('feeds ingested events to the matching entitlements and seeds them from the rollups after a restart', async () => {
    await s.request('POST', '/v1/events', [
      { specversion: '1.0', id: 'e1', source: 't', type: 'llm.completion', subject: 'acme', time: '2026-04-02T00:00:00Z', data: { model: 'gpt-4', usage: { tokens: 7 } } },
    ]);
    expect(await usages()).toEqual({ 'completions-day': '3', 'completions-month': '4', 'gpt4-tokens': '100' });
    await s.close();
    s = await start();
    expect(await usages()).toEqual({ 'completions-day': '3', 'completions-month': '4', 'gpt4-tokens': '100' });
    clock.set('2026-04-12T00:00:01Z');
    expect(await usages()).toEqual({ 'completions-day': '0', 'completions-month': '4', 'gpt4-tokens': '0' });
    expect((await completion('c6', 'gpt-4', 1)).status).toBe(200);
    const monthFull = await completion('c7', 'gpt-4', 1);
    expect([monthFull.status, monthFull.body.error.details.violated.map((v: { id: string }) => v.id)]).toEqual([429, ['completions-month']]);
  });

  it('several entitlements on one meter need distinct ids; filters name dimensions of the meter', async () => {
    const dup = configSchema.safeParse({ plans: [{ id: 'p', entitlements: [{ meter: 'calls', period: 'day', limit: 1 }, { meter: 'calls', period: 'month', limit: 2 }, { id: 'x', meter: 'calls', period: 'day', limit: 1 }, { id: 'x', meter: 'tokens', period: 'day', limit: 1 }] }] });
    expect(dup.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['plans.0.entitlements.1.meter', 'meter "calls" already has an entitlement in this plan (give each entitlement of a meter its own id)'],
      ['plans.0.entitlements.3.id', 'id "x" is already used in this plan'],
    ]);
    const bad = { plans: [{ id: 'p', entitlements: [{ meter: 'tokens', period: 'day', limit: 1, filter: { region: 'eu' } }] }] };
    const err = await startTestServer({ meters: QUOTA_METERS, config: bad }).catch((e: unknown) => e);
    expect(String((err as { problems?: unknown }).problems ? JSON.stringify((err as { problems: unknown }).problems) : err)).toContain('plans.0.entitlements.0.filter.region');
  });
});

describe('default plan (quotas.defaultPlan)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-quota-default-'));
  const config = { ...CONFIG, plans: [...CONFIG.plans, { id: 'starter', entitlements: [{ meter: 'calls', period: 'month', limit: 2 }] }], quotas: { defaultPlan: 'starter' } };
  const boot = () => startTestServer({ meters: QUOTA_METERS, clock, dataDir: dir, config });
  let d: TestServer;
  afterAll(async () => {
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const call = (tenant: string, key: string) => d.request('POST', '/v1/quota/consume', { tenant, meter: 'calls', idempotencyKey: key, data: { ms: 1 } });

  it('limits tenants the config does not list, keeps their usage across a restart, and leaves listed tenants on their plan', async () => {
    d = await boot();
    await d.request('POST', '/v1/events', [{ specversion: '1.0', id: 'n1', source: 't', type: 'api.call', subject: 'newco', time: '2026-04-12T00:00:00Z', data: { ms: 1 } }]);
    expect((await d.request('GET', '/v1/tenants/newco/entitlements')).body).toMatchObject({ plan: 'starter', data: [{ id: 'calls', usage: '1', limit: '2' }] });
    await d.close();
    d = await boot();
    expect((await call('newco', 'k1')).status).toBe(200);
    expect((await call('newco', 'k2')).body.error.code).toBe('QUOTA_EXCEEDED');
    expect((await call('other', 'k1')).status).toBe(200); // each unlisted tenant has its own counters
    expect((await call('acme', 'k1')).status).toBe(404); // listed on "llm", which has no calls entitlement
    expect((await d.request('GET', '/v1/tenants/acme/entitlements')).body.plan).toBe('llm');
    const bad = await startTestServer({ meters: QUOTA_METERS, config: { quotas: { defaultPlan: 'nope' } } }).catch((e: unknown) => e);
    expect(JSON.stringify((bad as { problems?: unknown }).problems)).toContain('quotas.defaultPlan');
  });
});
