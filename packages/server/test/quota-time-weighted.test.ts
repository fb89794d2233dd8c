import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/load.ts';
import type { MeterDefinition } from '../src/meters/meter.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

const METERS: MeterDefinition[] = [{ slug: 'gb_hours', eventType: 'resource.sample', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb', groupBy: {} }];
const CONFIG = { plans: [{ id: 'storage', entitlements: [{ meter: 'gb_hours', period: 'month', limit: 300, enforcement: 'soft' }] }], tenants: [{ id: 'disk-t', plan: 'storage' }] };
const sample = (id: string, time: string, gb: number) => ({ specversion: '1.0', id, source: 'test', type: 'resource.sample', subject: 'disk-t', time, data: { gb } });

/**
 * A soft TIME_WEIGHTED_SUM entitlement (GB-hours per month), hand-computed: 10 GB from Apr 10
 * 00:00, 20 GB from 06:00, read at 12:00 → 10×6 + 20×6 = 180 GB-h of 300.
 */
describe('TIME_WEIGHTED_SUM entitlements (embedded, soft)', () => {
  const clock = fixedClock('2026-04-10T12:00:00Z');
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ meters: METERS, clock, config: CONFIG });
  });
  afterAll(async () => {
    await s.close();
  });
  const read = async () => (await s.request('GET', '/v1/tenants/disk-t/entitlements')).body.data[0];

  it('reads the exact integral so far with a linear projection, cached for 30 s, a new sample read at once', async () => {
    expect((await s.request('POST', '/v1/events', [sample('s1', '2026-04-10T00:00:00Z', 10), sample('s2', '2026-04-10T06:00:00Z', 20)])).body.accepted).toBe(2);
    // April: 720 h, 228 h elapsed → projected = 180 × 720 / 228, truncated at 12 digits.
    expect(await read()).toMatchObject({ meter: 'gb_hours', enforcement: 'soft', hasAccess: true, usage: '180', limit: '300', remaining: '120', overage: '0', projected: '568.421052631578', overageProjected: true, projectionMethod: 'linear', periodStart: '2026-04-01T00:00:00.000Z', resetAt: '2026-05-01T00:00:00.000Z' });
    const w = (await s.request('GET', '/v1/quota/warnings?tenant=disk-t')).body.data as { threshold: string; usage: string }[];
    expect(w.map((x) => [x.threshold, x.usage])).toEqual([['projected-overage', '180']]);
    // A late sample (5 GB at 03:00) drops the cached answer: 10×3 + 5×3 + 20×6 = 165.
    expect((await s.request('POST', '/v1/events', [sample('s3', '2026-04-10T03:00:00Z', 5)])).body.accepted).toBe(1);
    expect((await read()).usage).toBe('165');
    // 10 s later the answer is still the cached one; 40 s after it was integrated, 20 GB held 40 s more.
    clock.set('2026-04-10T12:00:10Z');
    expect((await read()).usage).toBe('165');
    clock.set('2026-04-10T12:00:40Z');
    expect((await read()).usage).toBe('165.222222222222');
    // A sample past the limit: usage above 300 is overage (soft: still access), with the 80 % and 100 % warnings.
    expect((await s.request('POST', '/v1/events', [sample('s4', '2026-04-10T12:00:00Z', 1000)])).body.accepted).toBe(1);
    clock.set('2026-04-10T12:10:40Z');
    // 165 until 12:00, then 1000 GB for 640 s (the sample replaced the 20 GB from 12:00 on): 165 + 177.777….
    expect(await read()).toMatchObject({ usage: '342.777777777778', remaining: '0', overage: '42.777777777778', hasAccess: true });
    const all = (await s.request('GET', '/v1/quota/warnings?tenant=disk-t')).body.data as { threshold: string }[];
    expect(all.map((x) => x.threshold).sort()).toEqual(['100%', '80%', 'projected-overage']);
  });

  it('answers a consumption against it with 400 VALIDATION_FAILED, and a hard override too', async () => {
    const c = await s.request('POST', '/v1/quota/consume', { tenant: 'disk-t', meter: 'gb_hours', amount: 1, idempotencyKey: 'c1', data: { gb: 1 } });
    expect([c.status, c.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(c.body.error.message).toContain('integral over time');
    const o = await s.request('PUT', '/v1/tenants/disk-t', { entitlements: { gb_hours: { enforcement: 'hard' } } });
    expect([o.status, o.body.error.code, o.body.error.details[0].path]).toEqual([400, 'VALIDATION_FAILED', 'body.entitlements.gb_hours.enforcement']);
  });

  it('refuses a hard TIME_WEIGHTED_SUM entitlement at start, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-tws-hard-'));
    const hard = { plans: [{ id: 'p', entitlements: [{ meter: 'gb_hours', period: 'month', limit: 1 }] }] };
    const err = await startTestServer({ meters: METERS, dataDir: dir, config: hard }).catch((e: unknown) => e);
    rmSync(dir, { recursive: true, force: true });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      {
        path: 'plans.0.entitlements.0.enforcement',
        message: 'hard enforcement is refused: meter "gb_hours" is TIME_WEIGHTED_SUM: its usage is an integral over time (each sample held until the next), not a counter a call increments, so a call cannot be admitted or denied against it; use enforcement: soft (usage, warnings and alerts work as for other soft entitlements)',
      },
    ]);
  });
});
