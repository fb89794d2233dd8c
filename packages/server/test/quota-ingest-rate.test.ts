import { createClient, type TallyError } from '@tally/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterDefinition } from '../src/meters/meter.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';

const METERS: MeterDefinition[] = [{ slug: 'uses', eventType: 'feature.used', aggregation: 'COUNT', groupBy: {} }];
const CONFIG = {
  plans: [
    { id: 'guarded', entitlements: [{ meter: 'uses', period: 'month', limit: 1_000_000 }], ingestRateLimits: [{ name: 'ingest', algorithm: 'fixed-window', limit: 2, windowSeconds: 1 }] },
    { id: 'per-key', entitlements: [{ meter: 'uses', period: 'month', limit: 1_000_000 }], ingestRateLimits: [{ name: 'ingest-key', algorithm: 'fixed-window', limit: 1, windowSeconds: 60 }], ingestRateLimitPer: 'key' },
    { id: 'minute', entitlements: [{ meter: 'uses', period: 'month', limit: 1_000_000 }], ingestRateLimits: [{ name: 'ingest-minute', algorithm: 'fixed-window', limit: 2, windowSeconds: 3600 }] },
    { id: 'open', entitlements: [{ meter: 'uses', period: 'month', limit: 1_000_000 }] },
  ],
  tenants: [
    { id: 'spammy', plan: 'guarded' },
    { id: 'k1', plan: 'per-key' },
    { id: 'k2', plan: 'per-key' },
    { id: 'calm', plan: 'open' },
    { id: 'hourly', plan: 'minute' },
  ],
};
// Real time: the SDK waits out the server's Retry-After in real seconds.
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ meters: METERS, config: CONFIG });
});
afterAll(async () => {
  await s?.close();
});

const ev = (id: string, tenant: string) => ({ specversion: '1.0', id, source: 'test', type: 'feature.used', subject: tenant, data: {} });
const stored = async (tenant: string) => (await s.request('GET', `/v1/events?tenant=${tenant}&type=feature.used&limit=1000`)).body.data.length as number;

describe('ingest rate limits (plans[].ingestRateLimits)', () => {
  it('refuses a request over the limit whole with 429 INGEST_RATE_LIMITED and Retry-After; other plans are not limited', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await s.request('POST', '/v1/events', [ev(`raw-${i}`, 'hourly'), ev(`raw-${i}-calm`, 'calm')]));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 429]);
    const refused = answers.filter((a) => a.status === 429);
    for (const r of refused) {
      expect(r.body.error.code).toBe('INGEST_RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Nothing of a refused request was stored, the calm tenant's events in it neither.
    expect(await stored('hourly')).toBe(2);
    expect(await stored('calm')).toBe(2);
    for (let i = 0; i < 5; i++) expect((await s.request('POST', '/v1/events', [ev(`calm-${i}`, 'calm')])).status).toBe(200);
  });

  it('per key: each API key has its own window', async () => {
    const a = (await s.request('POST', '/v1/keys', { name: 'a', scopes: ['ingest'] })).body.token as string;
    const b = (await s.request('POST', '/v1/keys', { name: 'b', scopes: ['ingest'] })).body.token as string;
    expect((await s.request('POST', '/v1/events', [ev('ka-1', 'k1')], { token: a })).status).toBe(200);
    expect((await s.request('POST', '/v1/events', [ev('ka-2', 'k2')], { token: a })).status).toBe(429);
    expect((await s.request('POST', '/v1/events', [ev('kb-1', 'k2')], { token: b })).status).toBe(200);
  });

  it('the real SDK keeps refused events buffered and re-sends them after Retry-After: every event stored exactly once', async () => {
    const errors: TallyError[] = [];
    const c = createClient({ endpoint: s.url, apiKey: s.adminToken!, flushAt: 5, maxBatchEvents: 5, flushIntervalMs: 10, retry: { initialDelayMs: 20, maxDelayMs: 3_000 }, onError: (e) => errors.push(e) });
    const ids = Array.from({ length: 40 }, (_, n) => c.track({ type: 'feature.used', tenant: 'spammy', properties: { n } }));
    const r = await c.flush({ timeout: 120_000 });
    expect(r).toMatchObject({ drained: true, delivered: 40, lost: 0, pending: 0 });
    const st = c.stats();
    expect(st.acknowledged).toBe(40);
    expect(st.dropped).toBe(0);
    // The limit refused some requests on the way (8 requests of 5 against 2 per second)…
    expect(errors.some((e) => e.status === 429 && e.code === 'INGEST_RATE_LIMITED' && e.retriable)).toBe(true);
    expect(st.retries).toBeGreaterThan(0);
    await c.shutdown();
    // …and each event is stored once.
    const list = (await s.request('GET', '/v1/events?tenant=spammy&type=feature.used&limit=1000')).body.data as { id: string }[];
    const sdkIds = new Set(ids as string[]);
    expect(list.filter((e) => sdkIds.has(e.id)).length).toBe(40);
  }, 180_000);
});
