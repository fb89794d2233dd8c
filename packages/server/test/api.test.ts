import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

const clock = fixedClock('2026-04-01T12:00:00Z');
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock });
});
afterAll(async () => {
  await s.close();
});

const q = async (meter: string, params: string, token?: string) => s.request('GET', `/v1/meters/${meter}/query?${params}`, undefined, token ? { token } : {});

describe('ingest receipts', () => {
  it('answers a receipt per event and keeps the valid events of a mixed batch', async () => {
    const t = '2026-04-01T10:00:00Z';
    const r = await s.request('POST', '/v1/events', [
      ce('r1', 'rcpt', t, { route: '/a', method: 'GET', bytes: 10, ms: 5 }),
      ce('r2', 'rcpt', t, { route: '/a', method: 'GET', bytes: 'ten', ms: 5 }),
      ce('r3', 'rcpt', 'yesterday', { route: '/a', method: 'GET', bytes: 1, ms: 5 }),
      { id: 'r4', subject: 'rcpt' },
      ce('r1', 'rcpt', t, { route: '/a', method: 'GET', bytes: 10, ms: 5 }),
      ce('r5', 'rcpt', t, { route: '/b', method: 'POST', bytes: '0.5', ms: 7 }),
    ], { headers: { 'content-type': 'application/cloudevents-batch+json' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 3 });
    expect(r.body.receipts.map((x: { status: string; code?: string }) => x.code ?? x.status)).toEqual(['accepted', 'INVALID_METER_VALUE', 'INVALID_TIME', 'VALIDATION_FAILED', 'duplicate', 'accepted']);
    const sum = await q('bytes', `tenant=rcpt&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z`);
    expect(sum.body.data).toEqual([{ value: '10.5', windowStart: '2026-04-01T00:00:00.000Z', windowEnd: '2026-04-02T00:00:00.000Z', tenant: 'rcpt', groupBy: {} }]);
  });

  it('takes a single structured-mode event', async () => {
    const r = await s.request('POST', '/v1/events', ce('single', 'rcpt2', '2026-04-01T11:00:00Z', { route: '/x', method: 'GET', bytes: 1, ms: 1 }), { headers: { 'content-type': 'application/cloudevents+json' } });
    expect(r.status).toBe(200);
    expect(r.body.receipts).toEqual([{ id: 'single', status: 'accepted' }]);
  });

  it('answers 400 with the receipts when every event is rejected', async () => {
    const r = await s.request('POST', '/v1/events', [ce('bad1', 'x', '2026-04-01T13:00:00Z', { route: '/', method: 'GET', bytes: 1, ms: 1 })]);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
    expect(r.body.error.details.receipts[0]).toMatchObject({ id: 'bad1', status: 'rejected', code: 'INVALID_TIME' });
    const single = await s.request('POST', '/v1/events', ce('bad2', 'x', '2020-01-01T00:00:00Z', { route: '/', method: 'GET', bytes: 1, ms: 1 }));
    expect(single.status).toBe(400);
    expect(single.body.error.code).toBe('INVALID_TIME');
  });

  it('never counts a re-sent id twice and flags a re-send with different content', async () => {
    const e = ce('d1', 'dedupe', '2026-04-01T09:00:00Z', { route: '/d', method: 'GET', bytes: 3, ms: 1 });
    for (let i = 0; i < 3; i++) await s.request('POST', '/v1/events', [e]);
    const changed = await s.request('POST', '/v1/events', [{ ...e, data: { route: '/d', method: 'GET', bytes: 300, ms: 1 } }]);
    expect(changed.body.receipts[0]).toEqual({ id: 'd1', status: 'duplicate', conflict: true });
    const same = await s.request('POST', '/v1/events', [e]);
    expect(same.body.receipts[0]).toEqual({ id: 'd1', status: 'duplicate', conflict: false });
    const r = await q('bytes', 'tenant=dedupe&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z');
    expect(r.body.data[0].value).toBe('3');
  });

  it('hashes the actor before storing it', async () => {
    await s.request('POST', '/v1/events', [ce('h1', 'hash', '2026-04-01T09:00:00Z', { route: '/h', method: 'GET', bytes: 1, ms: 1 }, { actor: 'alice@example.com' })]);
    let raw: unknown;
    for await (const page of s.store.scanEvents('api.request', 0, Number.MAX_SAFE_INTEGER, ['hash'])) raw = page[0];
    expect(JSON.stringify(raw)).not.toContain('alice');
    expect((raw as { actor: string }).actor).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts gzip bodies', async () => {
    const body = gzipSync(JSON.stringify([ce('gz1', 'gz', '2026-04-01T09:00:00Z', { route: '/g', method: 'GET', bytes: 1, ms: 1 })]));
    const res = await fetch(`${s.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
  });
});

describe('aggregations', () => {
  beforeAll(async () => {
    const events = [];
    for (let i = 0; i < 1000; i++) {
      events.push(ce(`agg${i}`, 'agg', new Date(Date.UTC(2026, 2, 31, 0, 0, 0) + i * 60_000).toISOString(), { route: i % 4 === 0 ? '/four' : '/other', method: 'GET', bytes: 0.1, ms: (i % 10) + 0.5 }, { actor: `user${i % 13}` }));
    }
    const r = await s.request('POST', '/v1/events', events);
    expect(r.body.accepted).toBe(1000);
  });
  const range = 'tenant=agg&from=2026-03-31T00:00:00Z&to=2026-04-01T00:00:00Z';

  it.each([
    ['requests', '1000'],
    ['bytes', '100'],
    ['latency_min', '0.5'],
    ['latency_max', '9.5'],
    ['latency_avg', '5'],
    ['latest_ms', '9.5'],
    ['users', '13'],
  ])('%s over the day = %s', async (meter, expected) => {
    const r = await q(meter, range);
    expect(r.status).toBe(200);
    expect(r.body.data.map((d: { value: string }) => d.value)).toEqual([expected]);
  });

  it('groups by dimension and by tenant, and filters', async () => {
    const r = await q('requests', `${range}&groupBy=route,tenant`);
    expect(r.body.data.map((d: { groupBy: { route: string }; value: string; tenant: string }) => [d.tenant, d.groupBy.route, d.value])).toEqual([
      ['agg', '/four', '250'],
      ['agg', '/other', '750'],
    ]);
    const f = await q('users', `${range}&filterGroupBy[route]=/four`);
    expect(f.body.data[0].value).toBe('13');
  });

  it('serves the same numbers from day, hour, minute rollups and raw events', async () => {
    const answers = await Promise.all([
      q('bytes', range),
      q('bytes', 'tenant=agg&from=2026-03-31T00:00:00Z&to=2026-03-31T23:00:00Z&windowSize=HOUR'),
      q('bytes', 'tenant=agg&from=2026-03-31T00:00:00Z&to=2026-03-31T16:40:00Z'),
      q('bytes', 'tenant=agg&from=2026-03-31T00:00:00Z&to=2026-03-31T16:40:00.5Z'),
    ]);
    expect(answers.map((a) => a.body.resolution)).toEqual(['day', 'hour', 'minute', 'raw']);
    expect(answers[0]!.body.data[0].value).toBe('100');
    expect(answers[1]!.body.data).toHaveLength(17); // 1000 minutes = 16 h 40 min
    expect(answers[2]!.body.data[0].value).toBe('100');
    expect(answers[3]!.body.data[0].value).toBe('100');
  });

  it('answers CSV with Accept: text/csv, equal to the JSON rows', async () => {
    const res = await fetch(`${s.url}/v1/meters/requests/query?${range}&groupBy=route`, { headers: { authorization: `Bearer ${s.adminToken}`, accept: 'text/csv' } });
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(await res.text()).toBe('windowStart,windowEnd,tenant,route,value\n2026-03-31T00:00:00.000Z,2026-04-01T00:00:00.000Z,agg,/four,250\n2026-03-31T00:00:00.000Z,2026-04-01T00:00:00.000Z,agg,/other,750\n');
  });
});

describe('time-zone windows', () => {
  beforeAll(async () => {
    // One event every hour from 2026-03-28 00:00 to 2026-03-31 00:00 UTC (Berlin switches to summer time on 29 March).
    const events = Array.from({ length: 72 }, (_, h) => ce(`tz${h}`, 'tz', new Date(Date.UTC(2026, 2, 28, h, 30)).toISOString(), { route: '/t', method: 'GET', bytes: 1, ms: 1 }));
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(72);
  });

  it('follows Europe/Berlin midnights, with a 23-hour day at the DST switch', async () => {
    const r = await q('requests', 'tenant=tz&from=2026-03-28T00:00:00%2B01:00&to=2026-03-31T00:00:00%2B02:00&windowSize=DAY&windowTimeZone=Europe/Berlin');
    expect(r.status).toBe(200);
    expect(r.body.data.map((d: { windowStart: string; value: string }) => [d.windowStart, d.value])).toEqual([
      ['2026-03-27T23:00:00.000Z', '23'],
      ['2026-03-28T23:00:00.000Z', '23'],
      ['2026-03-29T22:00:00.000Z', '24'],
    ]);
    expect(r.body.resolution).toBe('hour');
  });

  it('uses minute rollups for half-hour zones and day rollups for UTC', async () => {
    const kolkata = await q('requests', 'tenant=tz&from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z&windowSize=DAY&windowTimeZone=Asia/Kolkata');
    expect(kolkata.body.resolution).toBe('minute');
    expect(kolkata.body.data.map((d: { value: string }) => Number(d.value)).reduce((a: number, b: number) => a + b, 0)).toBe(72);
    expect(kolkata.body.data[0].windowStart).toBe('2026-03-28T00:00:00.000Z');
    expect(kolkata.body.data[0].windowEnd).toBe('2026-03-28T18:30:00.000Z');
    const utc = await q('requests', 'tenant=tz&from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z&windowSize=DAY');
    expect(utc.body.resolution).toBe('day');
    expect(utc.body.data.map((d: { value: string }) => d.value)).toEqual(['24', '24', '24']);
  });

  it('lays out MONTH windows in the zone', async () => {
    const r = await q('requests', 'tenant=tz&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&windowSize=MONTH&windowTimeZone=America/New_York');
    expect(r.body.data.map((d: { windowStart: string; windowEnd: string; value: string }) => [d.windowStart, d.windowEnd, d.value])).toEqual([['2026-03-01T05:00:00.000Z', '2026-04-01T00:00:00.000Z', '72']]);
  });
});

describe('auth scopes', () => {
  let ingestKey: string, readKey: string, portalKey: string;
  beforeAll(async () => {
    const mk = async (body: unknown) => (await s.request('POST', '/v1/keys', body)).body.token as string;
    ingestKey = await mk({ name: 'ingest', scopes: ['ingest'] });
    readKey = await mk({ name: 'read', scopes: ['read'] });
    portalKey = await mk({ name: 'portal', scopes: ['read'], tenant: 'agg' });
  });

  it('401 without a key or with an unknown key', async () => {
    const none = await fetch(`${s.url}/v1/meters`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    expect((await s.request('GET', '/v1/meters', undefined, { token: 'tally_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' })).status).toBe(401);
  });

  it('403 when the scope is missing', async () => {
    expect((await s.request('GET', '/v1/meters', undefined, { token: ingestKey })).status).toBe(403);
    const w = await s.request('POST', '/v1/events', [ce('k1', 'x', '2026-04-01T10:00:00Z', { route: '/', method: 'GET', bytes: 1, ms: 1 })], { token: readKey });
    expect(w.status).toBe(403);
    expect(w.body.error.code).toBe('FORBIDDEN');
    expect((await s.request('POST', '/v1/keys', { name: 'x', scopes: ['admin'] }, { token: readKey })).status).toBe(403);
    expect((await s.request('POST', '/v1/events', [ce('k2', 'x', '2026-04-01T10:00:00Z', { route: '/', method: 'GET', bytes: 1, ms: 1 })], { token: ingestKey })).status).toBe(200);
  });

  it('binds a portal key to its tenant', async () => {
    const own = await q('requests', 'from=2026-03-31T00:00:00Z&to=2026-04-01T00:00:00Z', portalKey);
    expect(own.body.data).toEqual([expect.objectContaining({ tenant: 'agg', value: '1000' })]);
    const other = await q('requests', 'tenant=tz&from=2026-03-31T00:00:00Z&to=2026-04-01T00:00:00Z', portalKey);
    expect(other.status).toBe(403);
  });

  it('revoked keys stop working at once', async () => {
    const created = (await s.request('POST', '/v1/keys', { name: 'temp', scopes: ['read'] })).body;
    expect((await s.request('GET', '/v1/meters', undefined, { token: created.token })).status).toBe(200);
    expect((await s.request('DELETE', `/v1/keys/${created.id}`)).status).toBe(204);
    expect((await s.request('GET', '/v1/meters', undefined, { token: created.token })).status).toBe(401);
    const list = await s.request('GET', '/v1/keys');
    expect(JSON.stringify(list.body)).not.toContain(created.token);
  });
});

describe('meters API', () => {
  it('creates a meter with a backfill, refuses a changed definition, accepts an identical one', async () => {
    const def = { slug: 'bytes_max', eventType: 'api.request', aggregation: 'MAX', valueProperty: '$.bytes', groupBy: {} };
    const created = await s.request('POST', '/v1/meters', def);
    expect(created.status).toBe(201);
    expect(created.body.backfilled).toBeGreaterThan(1000);
    expect((await s.request('POST', '/v1/meters', def)).status).toBe(200);
    const changed = await s.request('POST', '/v1/meters', { ...def, aggregation: 'MIN' });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('CONFLICT');
    const r = await q('bytes_max', 'tenant=dedupe&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z');
    expect(r.body.data[0].value).toBe('3');
    const bad = await s.request('POST', '/v1/meters', { slug: 'Bad Slug', eventType: '', aggregation: 'SUM', groupBy: { x: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((p: { path: string }) => p.path)).toEqual(expect.arrayContaining(['body.slug', 'body.eventType', 'body.groupBy.x', 'body.valueProperty']));
  });
});

describe('meters sharing a rollup series', () => {
  it('a new meter reading what existing meters read joins their series: full history at once, nothing counted twice', async () => {
    const time = '2026-04-01T09:30:00Z';
    const sent = await s.request('POST', '/v1/events', [
      ce('share-1', 'share', time, { route: '/s', method: 'GET', bytes: 5, ms: 2.5 }),
      ce('share-2', 'share', time, { route: '/s', method: 'GET', bytes: 7, ms: 10 }),
      ce('share-3', 'share', time, { route: '/t', method: 'PUT', bytes: 1, ms: 4 }),
    ]);
    expect(sent.body.accepted).toBe(3);
    // latency_min/max/avg already share one series (AVG, MIN and MAX of $.ms, no dimensions).
    const def = { slug: 'latency_sum', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.ms', groupBy: {} };
    const created = await s.request('POST', '/v1/meters', def);
    expect(created.status).toBe(201);
    const range = 'tenant=share&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z';
    const value = async (slug: string) => (await q(slug, range)).body.data[0].value as string;
    expect(await value('latency_sum')).toBe('16.5');
    expect(await value('latency_avg')).toBe('5.5');
    expect([await value('latency_min'), await value('latency_max')]).toEqual(['2.5', '10']);
    await s.request('POST', '/v1/events', [ce('share-4', 'share', time, { route: '/s', method: 'GET', bytes: 1, ms: 0.5 })]);
    expect(await value('latency_sum')).toBe('17');
    expect(await value('latency_avg')).toBe('4.25');
    expect(await value('latency_min')).toBe('0.5');
  });

  it('two meters of one new series declared at once backfill it once', async () => {
    const defs = ['a', 'b'].map((k) => ({ slug: `route_calls_${k}`, eventType: 'api.request', aggregation: 'COUNT', groupBy: { r: '$.route' } }));
    const created = await Promise.all(defs.map((d) => s.request('POST', '/v1/meters', d)));
    expect(created.map((c) => c.status)).toEqual([201, 201]);
    const range = 'tenant=share&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z&groupBy=r';
    for (const d of defs) {
      const rows = (await q(d.slug, range)).body.data as { value: string; groupBy: { r: string } }[];
      expect(Object.fromEntries(rows.map((r) => [r.groupBy.r, r.value]))).toEqual({ '/s': '3', '/t': '1' });
    }
  });
});

describe('bad input never gets a 5xx and the server keeps serving', () => {
  const post = (body: string | Buffer, headers: Record<string, string>) => fetch(`${s.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${s.adminToken}`, ...headers }, body });
  const code = async (res: Response) => ((await res.json()) as { error: { code: string; requestId: string } }).error;

  it.each([
    ['malformed JSON', '{"id": ', { 'content-type': 'application/json' }, 400, 'MALFORMED_JSON'],
    ['wrong content type', 'id=1', { 'content-type': 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['empty body', '', { 'content-type': 'application/json' }, 400, 'MALFORMED_JSON'],
    ['a JSON string', '"hello"', { 'content-type': 'application/json' }, 400, 'VALIDATION_FAILED'],
    ['an empty batch', '[]', { 'content-type': 'application/json' }, 400, 'VALIDATION_FAILED'],
    ['bad gzip', 'not gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 400, 'MALFORMED_JSON'],
    ['mistyped fields', JSON.stringify({ specversion: '1.0', id: 5, source: 's', type: 't', subject: 'x', time: '2026-04-01T00:00:00Z', data: [] }), { 'content-type': 'application/json' }, 400, 'VALIDATION_FAILED'],
  ] as const)('%s', async (_name, body, headers, status, expected) => {
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    const e = await code(res);
    expect(e.code).toBe(expected);
    expect(e.requestId).toMatch(/^req_/);
  });

  it('413 for a body over the byte limit, for too many events and for a gzip bomb', async () => {
    const huge = await post(JSON.stringify([{ pad: 'x'.repeat(11 * 1024 * 1024) }]), { 'content-type': 'application/json' });
    expect(huge.status).toBe(413);
    expect((await code(huge)).code).toBe('PAYLOAD_TOO_LARGE');
    const many = await post(JSON.stringify(Array.from({ length: 10_001 }, () => ({}))), { 'content-type': 'application/json' });
    expect(many.status).toBe(413);
    const bomb = await post(gzipSync(Buffer.alloc(50 * 1024 * 1024, 32)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
  });

  it.each([
    ['an unknown meter', '/v1/meters/nope/query', 404, 'NOT_FOUND'],
    ['an invalid time zone', '/v1/meters/requests/query?windowSize=DAY&windowTimeZone=Mars/Olympus', 400, 'INVALID_TIME_ZONE'],
    ['an invalid time zone without a window size', '/v1/meters/requests/query?windowTimeZone=Mars/Olympus', 400, 'INVALID_TIME_ZONE'],
    ['from after to', '/v1/meters/requests/query?from=2026-04-02T00:00:00Z&to=2026-04-01T00:00:00Z', 400, 'INVALID_RANGE'],
    ['a bad window size', '/v1/meters/requests/query?windowSize=WEEK', 400, 'VALIDATION_FAILED'],
    ['a bad from', '/v1/meters/requests/query?from=yesterday', 400, 'VALIDATION_FAILED'],
    ['an unknown dimension', '/v1/meters/requests/query?groupBy=colour', 400, 'VALIDATION_FAILED'],
    ['an unknown parameter', '/v1/meters/requests/query?form=2026-04-01T00:00:00Z', 400, 'VALIDATION_FAILED'],
    ['too many windows', '/v1/meters/requests/query?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&windowSize=MINUTE', 400, 'INVALID_RANGE'],
    ['an unknown route', '/v1/nothing', 404, 'NOT_FOUND'],
  ] as const)('query with %s', async (_name, path, status, expected) => {
    const r = await s.request('GET', path);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(expected);
  });

  it('406 when Accept asks for something else', async () => {
    const r = await s.request('GET', '/v1/meters/requests/query', undefined, { headers: { accept: 'application/xml' } });
    expect(r.status).toBe(406);
  });

  it('still serves after all of that', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  });
});

describe('operations', () => {
  it('exports Prometheus metrics', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/tally_ingest_events_total\{outcome="accepted",code=""\} \d+/);
    expect(text).toMatch(/tally_ingest_events_total\{outcome="rejected",code="INVALID_TIME"\} \d+/);
    expect(text).toContain('tally_ingest_request_duration_seconds_bucket');
    expect(text).toMatch(/tally_events_stored \d+/);
  });

  it('publishes an OpenAPI 3.1 document generated from the request schemas', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/meters', '/v1/meters/{slug}', '/v1/meters/{slug}/query', '/healthz', '/readyz', '/metrics']));
    expect(doc.paths['/v1/meters/{slug}/query']!.get!.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['slug', 'from', 'to', 'windowSize', 'windowTimeZone', 'tenant', 'groupBy']));
  });
});
