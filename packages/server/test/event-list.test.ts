import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/** #16: the raw event API (the event debugger every metering product has). */
const clock = fixedClock('2026-04-01T12:00:00Z');
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock });
  const events = Array.from({ length: 250 }, (_, i) => ce(`ev${String(i).padStart(3, '0')}`, i % 2 ? 'acme' : 'globex', new Date(Date.UTC(2026, 3, 1, 10, 0, i)).toISOString(), { route: `/r${i % 3}`, method: 'GET', bytes: i, ms: 1 }, { actor: `u${i % 4}` }));
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(250);
});
afterAll(async () => {
  await s.close();
});

describe('GET /v1/events', () => {
  it('pages through the raw events with a cursor, filtered by tenant, id and time', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { body: { data: { id: string; tenant: string; actor: string; ingestedAt: string }[]; nextCursor: string | null } } = await s.request('GET', `/v1/events?tenant=acme&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.body.data.map((e) => e.id));
      expect(r.body.data.every((e) => e.tenant === 'acme' && /^[0-9a-f]{64}$/.test(e.actor))).toBe(true);
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toHaveLength(125);
    expect(new Set(seen).size).toBe(125);
    expect(pages).toBe(3);
    const one = await s.request('GET', '/v1/events?tenant=acme&id=ev007');
    expect(one.body.data).toEqual([expect.objectContaining({ id: 'ev007', type: 'api.request', time: '2026-04-01T10:00:07.000Z', data: { route: '/r1', method: 'GET', bytes: 7, ms: 1 } })]);
    expect((await s.request('GET', '/v1/events?from=2026-04-01T10:01:00Z&to=2026-04-01T10:02:00Z&limit=1000')).body.data).toHaveLength(60);
    expect((await s.request('GET', '/v1/events?cursor=garbage')).status).toBe(400);
  });

  it('streams every page as NDJSON or CSV', async () => {
    const nd = await s.request('GET', '/v1/events?type=api.request', undefined, { headers: { accept: 'application/x-ndjson' } });
    expect(nd.headers.get('content-type')).toMatch(/ndjson/);
    expect(nd.text.trim().split('\n')).toHaveLength(250);
    const csv = await s.request('GET', '/v1/events?tenant=globex&format=csv');
    expect(csv.text.split('\n')[0]).toBe('tenant,id,type,source,time,ingestedAt,actor,data,contentHash');
    expect(csv.text.trim().split('\n')).toHaveLength(126);
  });

  it('a portal key sees its own tenant only', async () => {
    const key = (await s.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'globex' })).body.token as string;
    const mine = await s.request('GET', '/v1/events?limit=1000', undefined, { token: key });
    expect(mine.body.data).toHaveLength(125);
    expect(mine.body.data.every((e: { tenant: string }) => e.tenant === 'globex')).toBe(true);
    expect((await s.request('GET', '/v1/events?tenant=acme', undefined, { token: key })).status).toBe(403);
    const ingestOnly = (await s.request('POST', '/v1/keys', { name: 'ing', scopes: ['ingest'] })).body.token as string;
    expect((await s.request('GET', '/v1/events', undefined, { token: ingestOnly })).status).toBe(403);
  });
});
