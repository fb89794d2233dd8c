import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';
import { call, QUOTA_CONFIG, QUOTA_METERS } from './quota-setup.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'tally-quota-'));
const clock = fixedClock('2026-04-11T12:00:00Z');
const start = () => startTestServer({ meters: QUOTA_METERS, clock, dataDir, config: QUOTA_CONFIG });
let s: TestServer;

afterAll(async () => {
  await s?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const consume = (tenant: string, meter: string, idempotencyKey: string, amount: string | number = 1) =>
  s.request('POST', '/v1/quota/consume', { tenant, meter, amount, idempotencyKey, data: meter === 'calls' ? { ms: 1 } : { model: 'm' } });
const usage = async (tenant: string, meter: string) => (await s.request('GET', `/v1/tenants/${tenant}/entitlements/${meter}`)).body.usage as string;
const warnings = async (q = 'tenant=warned') => (await s.request('GET', `/v1/quota/warnings?${q}`)).body.data as { threshold: string; usage: string; projected: string; periodStart: string }[];

describe('quota lifecycle (one data directory, restarted)', () => {
  it('raises 80 %, 100 % and projected-overage warnings once per tenant, meter and period', async () => {
    s = await start();
    await consume('warned', 'tokens', 'w1', '4'); // projected 4 × 24 h / 12 h = 8
    await consume('warned', 'tokens', 'w2', '0.9');
    expect(await warnings()).toEqual([]);
    await consume('warned', 'tokens', 'w3', '3.1'); // exactly 8: 80 %, projected 16
    expect((await warnings()).map((w) => [w.threshold, w.usage, w.projected])).toEqual([['80%', '8', '16'], ['projected-overage', '8', '16']]);
    clock.set('2026-04-11T13:00:00Z');
    const atLimit = await consume('warned', 'tokens', 'w4', 2);
    expect(atLimit.body).toMatchObject({ granted: true, usage: '10', hasAccess: true, enforcement: 'soft' });
    const over = await consume('warned', 'tokens', 'w5', 5); // soft: recorded beyond the limit
    expect(over.body).toMatchObject({ usage: '15', overage: '5', remaining: '0', hasAccess: true });
    await s.request('GET', '/v1/tenants/warned/entitlements/tokens');
    expect((await warnings()).map((w) => w.threshold)).toEqual(['80%', 'projected-overage', '100%']);
  });

  it('keeps usage, idempotency and raised warnings across a restart', async () => {
    await consume('globex', 'calls', 'r1');
    await consume('globex', 'calls', 'r2');
    await s.request('POST', '/v1/events', [call('e1', 'globex', '2026-04-02T00:00:00Z'), call('e2', 'globex', '2026-04-11T12:30:00Z')]);
    expect(await usage('globex', 'calls')).toBe('4');
    await s.close();
    s = await start();
    expect(await usage('globex', 'calls')).toBe('4');
    expect(await usage('warned', 'tokens')).toBe('15');
    const retry = await consume('globex', 'calls', 'r1');
    expect([retry.status, retry.body.duplicate, retry.body.usage]).toEqual([200, true, '4']);
    for (let i = 3; i <= 8; i++) expect((await consume('globex', 'calls', `r${i}`)).status).toBe(200);
    expect((await consume('globex', 'calls', 'r9')).body.error.code).toBe('QUOTA_EXCEEDED');
    await s.request('GET', '/v1/tenants/warned/entitlements/tokens'); // re-evaluates after the restart
    expect((await warnings()).map((w) => w.threshold)).toEqual(['80%', 'projected-overage', '100%']);
  });

  it('starts a new period from zero and warns again for it', async () => {
    clock.set('2026-04-12T12:00:00Z');
    expect(await usage('warned', 'tokens')).toBe('0');
    await consume('warned', 'tokens', 'n1', 9);
    const next = await warnings('tenant=warned&from=2026-04-12T00:00:00Z');
    expect(next.map((w) => [w.periodStart, w.threshold])).toEqual([['2026-04-12T00:00:00.000Z', '80%'], ['2026-04-12T00:00:00.000Z', 'projected-overage']]);
    expect(await warnings()).toHaveLength(5);
  });
});

describe('plan configuration', () => {
  it('reports every problem of the plans by path', () => {
    const r = configSchema.safeParse({
      plans: [
        {
          id: 'p',
          entitlements: [
            { meter: 'calls', period: 'month', timeZone: 'Mars/Olympus', limit: '1.0000000000001' },
            { meter: 'calls', period: 'week', limit: -1, anchor: 'soon' },
          ],
          rateLimits: [{ name: 'b', algorithm: 'fixed-window', limit: 1, windowSeconds: 1, burst: 2 }],
        },
        { id: 'p' },
      ],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'plans.0.entitlements.0.limit',
      'plans.0.entitlements.0.timeZone',
      'plans.0.entitlements.1.anchor',
      'plans.0.entitlements.1.limit',
      'plans.0.entitlements.1.meter',
      'plans.0.entitlements.1.period',
      'plans.0.rateLimits.0.burst',
      'plans.1.id',
    ]);
  });

  it('refuses to start when an entitlement names an unknown or non-additive meter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-quota-bad-'));
    const bad = { plans: [{ id: 'p', entitlements: [{ meter: 'nope', period: 'day', limit: 1 }, { meter: 'latency', period: 'day', limit: 1 }] }] };
    const err = await startTestServer({ meters: QUOTA_METERS, dataDir: dir, config: bad }).catch((e: unknown) => e);
    rmSync(dir, { recursive: true, force: true });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      { path: 'plans.0.entitlements.0.meter', message: 'unknown meter "nope"' },
      { path: 'plans.0.entitlements.1.meter', message: 'meter "latency" is MAX; quotas need an additive meter (COUNT or SUM, or TIME_WEIGHTED_SUM with enforcement: soft)' },
    ]);
  });
});
