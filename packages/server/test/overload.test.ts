/**
 * Overload protection against a real server (issue 12, findings 4 and 5): bounded ingest
 * requests and body bytes in flight, refused early and whole with 503 OVERLOADED; slow clients
 * cut by the header and request timeouts; /healthz and /readyz answer while ingest is saturated.
 * Limits and timeouts are tiny here; nothing asserts a duration.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { postHead, RawRequest } from './raw-http.ts';

const METERS = [{ slug: 'calls', eventType: 'api.request', aggregation: 'COUNT' as const, groupBy: {} }];

function batch(prefix: string, n: number, tenant: string, pad = 0): Record<string, unknown>[] {
  const time = new Date().toISOString();
  return Array.from({ length: n }, (_, i) => ({ specversion: '1.0', id: `${prefix}-${i}`, source: 'test', type: 'api.request', subject: tenant, time, data: { route: '/x', pad: 'p'.repeat(pad) } }));
}

/** Events of `tenant` stored (the COUNT meter over the last and next hour). */
async function stored(s: TestServer, tenant: string): Promise<number> {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const r = await s.request('GET', `/v1/meters/calls/query?tenant=${tenant}&from=${from}&to=${to}`);
  expect(r.status).toBe(200);
  return Number(r.body.data[0]?.value ?? 0);
}

/** The admission gauges from /metrics. */
async function inflight(s: TestServer): Promise<{ requests: number; bytes: number }> {
  const text = (await s.request('GET', '/metrics')).text;
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { requests: read('tally_http_inflight_ingest_requests'), bytes: read('tally_http_inflight_body_bytes') };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

/** An ingest request whose body stops after its first bytes: admitted, and holding its share until finished. */
function hold(s: TestServer, body: Buffer): RawRequest {
  const head = postHead('/v1/events', { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json', 'content-length': body.length });
  return new RawRequest(s.url).write(head).write(body.subarray(0, 10));
}

describe('in-flight limits (maxInflightIngest 2, maxInflightBytes 150,000, maxBodyBytes 100,000)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ meters: METERS, config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', maxInflightIngest: 2, maxInflightBytes: 150_000 }, ingest: { maxBodyBytes: 100_000 } } });
  });
  afterAll(async () => {
    await s.close();
  });

  it('refuses ingest beyond the limit with 503 OVERLOADED, Retry-After and the envelope; every accepted event is stored', async () => {
    const bodies = [Buffer.from(JSON.stringify(batch('held0', 5, 'lim'))), Buffer.from(JSON.stringify(batch('held1', 5, 'lim')))];
    const held = bodies.map((b) => hold(s, b));
    await until(async () => (await inflight(s)).requests === 2);
    const refused = await s.request('POST', '/v1/events', batch('refused', 5, 'lim'));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error).toMatchObject({ code: 'OVERLOADED', requestId: expect.stringMatching(/^req_/) });
    const segment = await s.request('POST', '/v1/batch', { batch: [{ type: 'track', messageId: 'seg-1', event: 'api.request', properties: { tenant: 'lim' } }] });
    expect(segment.status).toBe(503);
    held.forEach((h, i) => h.write(bodies[i]!.subarray(10)));
    for (const h of held) {
      const a = await h.answer;
      expect(a.status).toBe(200);
      expect(JSON.parse(a.body)).toMatchObject({ accepted: 5 });
    }
    await until(async () => (await inflight(s)).requests === 0);
    expect((await s.request('POST', '/v1/events', batch('after', 3, 'lim'))).status).toBe(200);
    expect(await stored(s, 'lim')).toBe(13);
    expect((await inflight(s)).bytes).toBe(0);
  });

  it('refuses a body over the in-flight byte budget before reading it; a gzip body counts its decompressed size', async () => {
    const big = Buffer.from(JSON.stringify(batch('big', 20, 'bytes', 4_000)));
    expect(big.length).toBeGreaterThan(80_000);
    expect(big.length).toBeLessThan(100_000);
    const held = hold(s, big);
    await until(async () => (await inflight(s)).bytes === big.length);
    // Announces 70,000 bytes: refused at once, without a byte of its body sent.
    const early = new RawRequest(s.url).write(postHead('/v1/events', { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json', 'content-length': 70_000 }));
    const a = await early.answer;
    expect(a.status).toBe(503);
    expect(a.headers['retry-after']).toBe('1');
    expect(JSON.parse(a.body).error.code).toBe('OVERLOADED');
    early.destroy();
    held.write(big.subarray(10));
    expect((await held.answer).status).toBe(200);
    await until(async () => (await inflight(s)).bytes === 0);
    // 2 KB of gzip that decompresses to ~80 KB fits alone (growth past the budget: src/http/overload.test.ts);
    // one whose decompressed size exceeds maxBodyBytes is refused with 413.
    const gz = gzipSync(JSON.stringify(batch('gz', 18, 'bytes', 4_000)));
    expect(gz.length).toBeLessThan(10_000);
    expect((await s.request('POST', '/v1/events', gz, { headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    const bomb = await s.request('POST', '/v1/events', gzipSync(JSON.stringify(batch('bomb', 30, 'bytes', 4_000))), { headers: { 'content-encoding': 'gzip' } });
    expect(bomb.status).toBe(413);
    expect(await stored(s, 'bytes')).toBe(38);
    expect((await inflight(s)).bytes).toBe(0);
  });

  it('refuses a body without a valid key before reading it', async () => {
    const anon = new RawRequest(s.url).write(postHead('/v1/events', { 'content-type': 'application/json', 'content-length': 90_000 }));
    const a = await anon.answer;
    expect(a.status).toBe(401);
    expect(JSON.parse(a.body).error.code).toBe('UNAUTHENTICATED');
    anon.destroy();
    expect((await inflight(s)).bytes).toBe(0);
  });

  it('answers /healthz and /readyz while ingest is saturated, and frees the slots of clients that hang up', async () => {
    const held = [hold(s, Buffer.alloc(50_000, 0x20)), hold(s, Buffer.alloc(50_000, 0x20))];
    await until(async () => (await inflight(s)).requests === 2);
    expect((await s.request('POST', '/v1/events', batch('sat', 1, 'sat'))).status).toBe(503);
    expect((await s.request('GET', '/healthz')).status).toBe(200);
    expect((await s.request('GET', '/readyz')).status).toBe(200);
    expect((await s.request('GET', '/v1/meters')).status).toBe(200);
    for (const h of held) h.destroy();
    await until(async () => {
      const g = await inflight(s);
      return g.requests === 0 && g.bytes === 0;
    });
    expect((await s.request('POST', '/v1/events', batch('sat', 1, 'sat'))).status).toBe(200);
  });
});

describe('slow clients (headersTimeoutMs 300, requestTimeoutMs 1,000)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ meters: METERS, config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', headersTimeoutMs: 300, requestTimeoutMs: 1_000, keepAliveTimeoutMs: 500 } } });
  });
  afterAll(async () => {
    await s.close();
  });

  it('closes a slowloris connection (headers byte by byte) before its headers are done', async () => {
    const head = `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-Padding: slow\r\n'.repeat(60)}`;
    const c = new RawRequest(s.url);
    // 20 ms a byte: the whole head would take ~20 s; the server must hang up long before.
    const written = await c.trickle(head, 20);
    await c.closed;
    expect(written).toBeLessThan(head.length);
    expect([0, 408]).toContain((await c.answer).status);
  });

  it('cuts a slow chunked body and does not answer 200 (nothing of it is stored)', async () => {
    const event = JSON.stringify(batch('slow', 1, 'slowbody')[0]);
    const c = new RawRequest(s.url).write(postHead('/v1/events', { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
    const chunked = [...event].map((ch) => `1\r\n${ch}\r\n`).join('') + '0\r\n\r\n';
    const written = await c.trickle(chunked, 10);
    await c.closed;
    expect(written).toBeLessThan(chunked.length);
    expect((await c.answer).status).not.toBe(200);
    expect(await stored(s, 'slowbody')).toBe(0);
    await until(async () => (await inflight(s)).requests === 0);
  });
});
