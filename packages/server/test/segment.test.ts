import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';

/*
 * POST /v1/batch with a real @segment/analytics-node client pointed at a real Tally server,
 * verified through meter queries: every track call counted exactly once, retries and re-sent
 * messageIds never double counted, bad calls rejected per item with registry codes.
 */

let server: TestServer;
let ingestKey: string;
let readKey: string;

const METERS = [
  { slug: 'orders', eventType: 'Order Completed', aggregation: 'COUNT' as const, groupBy: {} },
  { slug: 'order_total', eventType: 'Order Completed', aggregation: 'SUM' as const, valueProperty: '$.total', groupBy: {} },
  { slug: 'buyers', eventType: 'Order Completed', aggregation: 'UNIQUE_COUNT' as const, valueProperty: '$actor', groupBy: {} },
];

beforeAll(async () => {
  // analytics-node sends its batches concurrently: the server's in-flight ingest limit (4 by
  // default) could refuse one with 503 OVERLOADED under load, which the client retries. This test is
  // about the Segment mapping; refusals under load are test/overload.test.ts's business.
  server = await startTestServer({ meters: METERS, config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', maxInflightIngest: 64 } } });
  const key = async (scopes: string[]) => {
    const r = await server.request('POST', '/v1/keys', { name: `segment-${scopes.join('-')}`, scopes });
    expect(r.status).toBe(201);
    return r.body.token as string;
  };
  ingestKey = await key(['ingest']);
  readKey = await key(['read']);
});
afterAll(() => server.close());

/** The meter's value for a tenant over the last and next hour ('0' when nothing was counted). */
async function meter(slug: string, tenant: string): Promise<string> {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const q = await server.request('GET', `/v1/meters/${slug}/query?from=${from}&to=${to}&tenant=${encodeURIComponent(tenant)}`);
  expect(q.status).toBe(200);
  return (q.body.data as { value: string }[])[0]?.value ?? '0';
}

/** An analytics-node client as an app would configure it, pointed at `host`. */
function segmentClient(host: string, extra: Partial<ConstructorParameters<typeof Analytics>[0]> = {}) {
  const analytics = new Analytics({ writeKey: ingestKey, host, flushAt: 7, flushInterval: 20, ...extra });
  const statuses: number[] = [];
  analytics.on('http_response', (r) => statuses.push(r.status));
  return { analytics, statuses };
}

/** Tracks through analytics-node and resolves with each call's delivery error (undefined when delivered). */
function track(analytics: Analytics, params: Parameters<Analytics['track']>[0]): Promise<unknown> {
  return new Promise((resolve) => analytics.track(params, (err) => resolve(err)));
}

/** POSTs a raw Segment batch with HTTP Basic auth (write key as username), as Segment libraries do. */
async function postBatch(batch: unknown[], key = ingestKey, scheme: 'Basic' | 'Bearer' = 'Basic') {
  const authorization = scheme === 'Basic' ? `Basic ${Buffer.from(`${key}:`).toString('base64')}` : `Bearer ${key}`;
  return server.request('POST', '/v1/batch', { batch }, { headers: { authorization } });
}

const track1 = (messageId: string, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  messageId,
  event: 'Order Completed',
  userId: 'user-1',
  timestamp: new Date().toISOString(),
  properties: { total: 10 },
  context: { groupId: 'raw-tenant' },
  ...extra,
});

describe('POST /v1/batch with @segment/analytics-node', () => {
  it('counts every track call exactly once, tenant from context.groupId or properties.tenant', async () => {
    const { analytics, statuses } = segmentClient(server.url);
    const calls: Promise<unknown>[] = [];
    for (let n = 0; n < 25; n++) calls.push(track(analytics, { userId: `buyer-${n % 5}`, event: 'Order Completed', properties: { total: n }, context: { groupId: 'acme' } }));
    for (let n = 0; n < 4; n++) calls.push(track(analytics, { anonymousId: `anon-${n}`, event: 'Order Completed', properties: { total: 1.5, tenant: 'globex' } }));
    calls.push(track(analytics, { userId: 'u', event: 'Page Viewed', properties: { path: '/x' }, context: { groupId: 'acme' } })); // no meter: stored, not counted
    expect(await Promise.all(calls)).toEqual(calls.map(() => undefined));
    await analytics.closeAndFlush({ timeout: 10_000 });

    expect(statuses.length).toBeGreaterThan(1); // several batches
    expect(statuses).toEqual(statuses.map(() => 200)); // (the failure shows which statuses came back)
    expect(await meter('orders', 'acme')).toBe('25');
    expect(await meter('order_total', 'acme')).toBe(String((24 * 25) / 2));
    expect(await meter('buyers', 'acme')).toBe('5');
    expect(await meter('orders', 'globex')).toBe('4');
    expect(await meter('order_total', 'globex')).toBe('6');
  });

  it('answers 200 JSON with a receipt per call, and duplicates for re-sent messageIds', async () => {
    const batch = [track1('seg-dup-1'), track1('seg-dup-2')];
    const first = await postBatch(batch);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/application\/json/);
    expect(first.body).toEqual({
      success: true,
      accepted: 2,
      duplicates: 0,
      rejected: 0,
      receipts: [
        { id: 'seg-dup-1', status: 'accepted' },
        { id: 'seg-dup-2', status: 'accepted' },
      ],
    });
    const again = await postBatch(batch, ingestKey, 'Bearer'); // Bearer works too
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ success: true, accepted: 0, duplicates: 2, receipts: [{ status: 'duplicate', conflict: false }, { status: 'duplicate', conflict: false }] });
    expect(await meter('orders', 'raw-tenant')).toBe('2');
  });

  it('does not double count a batch analytics-node retries after losing the answer', async () => {
    // A proxy that forwards every request to Tally but cuts the connection instead of relaying the
    // first answer: Tally stored the batch, the client saw a network error and sends it again.
    let attempts = 0;
    const proxy = http.createServer((req, res) => {
      const n = ++attempts;
      const upstream = http.request(`${server.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        if (n === 1) {
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { analytics, statuses } = segmentClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, { flushAt: 10, maxRetries: 3 });
    const calls = Array.from({ length: 10 }, (_, n) => track(analytics, { userId: `r-${n}`, event: 'Order Completed', properties: { total: 1 }, context: { groupId: 'retry-co' } }));
    expect(await Promise.all(calls)).toEqual(calls.map(() => undefined));
    await analytics.closeAndFlush({ timeout: 20_000 });
    await new Promise<void>((resolve) => proxy.close(() => resolve()));

    expect(attempts).toBe(2); // the lost answer, then the retry
    expect(statuses).toEqual([200]);
    expect(await meter('orders', 'retry-co')).toBe('10');
  });

  it('counts a messageId once when the app tracks it twice', async () => {
    const { analytics } = segmentClient(server.url, { flushAt: 1 });
    const params = { messageId: 'order-7781', userId: 'u-1', event: 'Order Completed', properties: { total: 5 }, context: { groupId: 'twice-co' } };
    expect(await track(analytics, params)).toBeUndefined();
    expect(await track(analytics, params)).toBeUndefined();
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(await meter('orders', 'twice-co')).toBe('1');
    expect(await meter('order_total', 'twice-co')).toBe('5');
  });

  it('rejects bad calls per item with registry codes and keeps the valid ones', async () => {
    const old = new Date(Date.now() - 90 * 86_400_000).toISOString();
    const r = await postBatch([
      track1('bad-ok', { context: { groupId: 'mixed-co' } }),
      { type: 'identify', messageId: 'bad-identify', userId: 'u', traits: {} },
      track1('', { context: { groupId: 'mixed-co' } }),
      track1('bad-no-tenant', { context: {} }),
      track1('bad-old', { timestamp: old, context: { groupId: 'mixed-co' } }),
      track1('bad-value', { properties: { total: 'lots' }, context: { groupId: 'mixed-co' } }),
      track1('bad-event', { event: '', context: { groupId: 'mixed-co' } }),
      'not a call',
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, accepted: 1, duplicates: 0, rejected: 7 });
    const receipts = r.body.receipts as { id: string | null; status: string; code?: string; message?: string }[];
    expect(receipts.map((x) => [x.id, x.status, x.code])).toEqual([
      ['bad-ok', 'accepted', undefined],
      ['bad-identify', 'rejected', 'VALIDATION_FAILED'],
      [null, 'rejected', 'VALIDATION_FAILED'],
      ['bad-no-tenant', 'rejected', 'VALIDATION_FAILED'],
      ['bad-old', 'rejected', 'INVALID_TIME'],
      ['bad-value', 'rejected', 'INVALID_METER_VALUE'],
      ['bad-event', 'rejected', 'VALIDATION_FAILED'],
      [null, 'rejected', 'VALIDATION_FAILED'],
    ]);
    // Messages name the Segment fields, not the CloudEvent attributes they map to.
    expect(receipts[1]?.message).toMatch(/only "track"/);
    expect(receipts[2]?.message).toMatch(/^messageId:/);
    expect(receipts[3]?.message).toMatch(/^context\.groupId:/);
    expect(receipts[4]?.message).toMatch(/^timestamp:/);
    expect(receipts[6]?.message).toMatch(/^event:/);
    expect(await meter('orders', 'mixed-co')).toBe('1');
  });

  it('answers 400 with the receipts when no call of a batch is usable, which analytics-node reports', async () => {
    const all = await postBatch([track1('none-1', { context: {} }), { type: 'page', messageId: 'none-2' }]);
    expect(all.status).toBe(400);
    expect(all.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { receipts: [{ id: 'none-1', code: 'VALIDATION_FAILED' }, { id: 'none-2', code: 'VALIDATION_FAILED' }] } });
    expect(all.body.error.requestId).toMatch(/^req_/);

    const { analytics, statuses } = segmentClient(server.url, { flushAt: 2 });
    const errors = await Promise.all([track(analytics, { userId: 'u', event: 'Order Completed', properties: { total: 1 } }), track(analytics, { userId: 'v', event: 'Order Completed' })]);
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(statuses).toEqual([400]); // not retried
    expect(errors.every((e) => e !== undefined)).toBe(true); // the app is told, nothing is silent
  });

  it('authenticates like Segment (Basic, write key as username) or with Bearer, ingest scope only', async () => {
    const body = [track1('auth-1', { context: { groupId: 'auth-co' } })];
    expect((await server.request('POST', '/v1/batch', { batch: body }, { headers: { authorization: '' } })).body.error.code).toBe('UNAUTHENTICATED');
    const wrong = await postBatch(body, 'tly_not_a_key');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHENTICATED');
    const read = await postBatch(body, readKey);
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe('FORBIDDEN');
    expect((await postBatch(body)).status).toBe(200);
    expect(await meter('orders', 'auth-co')).toBe('1');
  });

  it('rejects malformed requests with the error envelope', async () => {
    expect((await server.request('POST', '/v1/batch', { events: [] }, { headers: { authorization: `Bearer ${ingestKey}` } })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await postBatch([])).body.error.code).toBe('VALIDATION_FAILED');
    const notJson = await server.request('POST', '/v1/batch', '{"batch": [', { headers: { authorization: `Bearer ${ingestKey}` } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('MALFORMED_JSON');
  });
});
