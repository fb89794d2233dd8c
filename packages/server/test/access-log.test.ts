import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

const clock = fixedClock('2026-04-01T12:00:00Z');
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock, config: { plans: [{ id: 'p', entitlements: [{ meter: 'requests', period: 'day', limit: 100 }] }], tenants: [{ id: 'acme', plan: 'p' }] } });
  await s.request('POST', '/v1/events', [ce('e1', 'acme', '2026-04-01T10:00:00Z', { route: '/a', method: 'GET', bytes: 1, ms: 1 }), ce('e2', 'globex', '2026-04-01T10:00:00Z', { route: '/b', method: 'GET', bytes: 2, ms: 1 })]);
});
afterAll(async () => {
  await s.close();
});

interface Entry { seq: number; keyId: string | null; endpoint: string; method: string; tenants: string[]; status: number; rows: number | null; params: Record<string, unknown>; hash: string; prevHash: string }
const audit = async (q = '', token?: string) => (await s.request('GET', `/v1/audit?limit=1000${q}`, undefined, token ? { token } : {})).body as unknown as { data: Entry[] };

describe('privacy: the access log', () => {
  it('each read endpoint and admin action appends exactly one entry (key, tenants, endpoint, parameters, rows); ingest appends none', async () => {
    const before = (await audit()).data.length;
    const calls: [string, string, unknown?][] = [
      ['GET', '/v1/meters/requests/query?tenant=acme&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z&groupBy=route'],
      ['GET', '/v1/events?tenant=globex'],
      ['GET', '/v1/tenants/acme/entitlements'],
      ['GET', '/v1/invoices'],
      ['POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'acme' }],
    ];
    const answers = [];
    for (const [method, path, body] of calls) answers.push(await s.request(method, path, body));
    await s.request('POST', '/v1/events', [ce('e3', 'acme', '2026-04-01T11:00:00Z', { route: '/a', method: 'GET', bytes: 1, ms: 1 })]);
    const after = (await audit()).data;
    // Newest first: the audit read just made is not in its own answer; the five calls are, once each.
    const mine = after.slice(0, after.length - before - 1).reverse();
    expect(mine.map((e) => `${e.method} ${e.endpoint}`)).toEqual(['GET /v1/meters/:slug/query', 'GET /v1/events', 'GET /v1/tenants/:tenant/entitlements', 'GET /v1/invoices', 'POST /v1/keys']);
    expect(mine.map((e) => e.tenants)).toEqual([['acme'], ['globex'], ['acme'], [], ['acme']]);
    expect(mine[0]!.rows).toBe((answers[0]!.body as { data: unknown[] }).data.length);
    expect(mine[1]!.rows).toBe((answers[1]!.body as { data: unknown[] }).data.length);
    expect(mine[0]!.params).toMatchObject({ path: { slug: 'requests' }, query: { tenant: 'acme', groupBy: 'route' } });
    expect(new Set(mine.map((e) => e.keyId)).size).toBe(1);
    expect(mine.every((e) => e.status < 300)).toBe(true);
    // Chained: each entry links to the one before it.
    const chain = after.slice().reverse();
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
  });

  it('a refused read is logged too, and a tenant-bound key reads only the entries about its tenant', async () => {
    const key = (await s.request('POST', '/v1/keys', { name: 'acme-portal', scopes: ['read'], tenant: 'acme' })).body as unknown as { id: string; token: string };
    const refused = await s.request('GET', '/v1/meters/requests/query?tenant=globex', undefined, { token: key.token });
    expect(refused.status).toBe(403);
    const own = (await audit('', key.token)).data;
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((e) => e.tenants.length === 0 || e.tenants.includes('acme'))).toBe(true);
    const all = (await audit()).data;
    const refusal = all.find((e) => e.keyId === key.id && e.endpoint === '/v1/meters/:slug/query');
    expect(refusal).toMatchObject({ status: 403, rows: 0 });
    expect((await s.request('GET', '/v1/audit?tenant=globex', undefined, { token: key.token })).status).toBe(403);
    // Secrets in a request body never enter the log.
    await s.request('POST', '/v1/keys', { name: 'x', scopes: ['read'], token: 'tally_should_not_be_logged' });
    expect(JSON.stringify((await audit()).data)).not.toContain('tally_should_not_be_logged');
  });

  it('verify passes on the stored log and fails at an entry altered in storage, naming it', async () => {
    const ok = (await s.request('GET', '/v1/audit/verify')).body as unknown as { ok: boolean; chains: { chain: string; entries: number }[] };
    expect(ok.ok).toBe(true);
    expect(ok.chains[0]!.entries).toBeGreaterThan(10);
    const conn = await (s.store as DuckDbStore).connect();
    await conn.run("UPDATE access_log SET body = replace(body, '\"status\":200', '\"status\":204') WHERE chain = 'embedded' AND seq = 3");
    conn.closeSync();
    const bad = (await s.request('GET', '/v1/audit/verify')).body as unknown as { ok: boolean; breaks: { chain: string; seq: number; reason: string }[] };
    expect(bad.ok).toBe(false);
    expect(bad.breaks).toEqual([{ chain: 'embedded', seq: 3, reason: 'its content was changed after it was written (hash differs)' }]);
  });
});
