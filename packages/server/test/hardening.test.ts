import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors/registry.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';
import { QUOTA_CONFIG, QUOTA_METERS } from './quota-setup.ts';

// The findings of issue #12, each reproduced against a real server.
const clock = fixedClock('2026-04-01T12:00:00Z');
const T = '2026-04-01T10:00:00Z';
const DAY = 'from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z';
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: [...TEST_METERS, ...QUOTA_METERS], clock, config: QUOTA_CONFIG });
});
afterAll(async () => {
  await s.close();
});

const data = (route = '/a') => ({ route, method: 'GET', bytes: 1, ms: 1 });
const post = (events: unknown) => s.request('POST', '/v1/events', events);
const count = async (tenant: string) => (await s.request('GET', `/v1/meters/requests/query?tenant=${encodeURIComponent(tenant)}&${DAY}`)).body.data[0]?.value ?? '0';
const codes = (r: { body: { receipts?: { status: string; code?: string }[]; error?: { details?: { receipts: { status: string; code?: string }[] } } } }) =>
  (r.body.receipts ?? r.body.error!.details!.receipts).map((x) => x.code ?? x.status);

/** Sends raw bytes on a new connection and returns what the server answered before closing. */
function rawHttp(text: string): Promise<string> {
  const u = new URL(s.url);
  return new Promise((resolve) => {
    const c = connect(Number(u.port), u.hostname, () => c.write(text));
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('close', () => resolve(out));
    c.on('error', () => resolve(out));
  });
}

describe('1. a malformed event id cannot stop ingest', () => {
  it('refuses ids that differ only in a lone surrogate per event, and ingest goes on for everyone', async () => {
    const r = await post([ce('\ud800', 'poison', T, data()), ce('\udfff', 'poison', T, data()), ce('\ufffd', 'poison', T, data()), ce('fine', 'poison', T, data())]);
    expect(r.status).toBe(200);
    expect(codes(r)).toEqual(['INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'accepted', 'accepted']);
    // Across two requests, and a retry of an accepted id.
    expect(codes(await post([ce('q\ud800', 'poison', T, data())]))).toEqual(['INVALID_IDENTIFIER']);
    expect(codes(await post([ce('q\udfff', 'poison', T, data())]))).toEqual(['INVALID_IDENTIFIER']);
    expect(codes(await post([ce('\ufffd', 'poison', T, data())]))).toEqual(['duplicate']);
    // A well-behaved client of another tenant: every event acknowledged and counted.
    for (let b = 0; b < 20; b++) {
      const ok = await post(Array.from({ length: 50 }, (_, i) => ce(`w${b}-${i}`, 'wellbehaved', T, data())));
      expect(ok.status).toBe(200);
      expect(ok.body.accepted).toBe(50);
    }
    expect(await count('wellbehaved')).toBe('1000');
    expect(await count('poison')).toBe('2');
    expect((await s.request('GET', '/readyz')).status).toBe(200);
  });

  it('refuses control characters and lone surrogates in every identifier, naming the field', async () => {
    const r = await post([
      ce('nul\u0000id', 'ctl', T, data()),
      ce('ok1', 'ctl\u0007', T, data()),
      ce('ok2', 'ctl', T, data(), { type: 'api.request\n' }),
      ce('ok3', 'ctl', T, data(), { source: 'src\u0085' }),
      ce('ok4', 'ctl', T, data(), { actor: 'user\udc00' }),
      ce('ok5', 'ctl', T, data('/r\u0000')),
      ce('ok6', 'ctl', T, data('/r\ud83d')),
      ce('ok7', 'ctl', T, data('/tab\there ünïcødé 🚀')),
    ]);
    expect(codes(r)).toEqual(['INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'accepted']);
    const messages = r.body.receipts.map((x: { message?: string }) => x.message ?? '');
    expect(messages[0]).toMatch(/^id: .*control/);
    expect(messages[1]).toMatch(/^subject: /);
    expect(messages[4]).toMatch(/^actor: .*surrogate/);
    expect(messages[5]).toMatch(/route.*NUL/);
    const grouped = await s.request('GET', `/v1/meters/requests/query?tenant=ctl&groupBy=route&${DAY}`);
    expect(grouped.body.data).toEqual([expect.objectContaining({ groupBy: { route: '/tab\there ünïcødé 🚀' }, value: '1' })]);
  });
});

describe('found by the fuzz suite', () => {
  it('deeply nested data is refused per event (no stack overflow, no 5xx); the batch beside it is kept', async () => {
    // Sent as text: JSON.stringify itself cannot serialise 10,000 levels.
    const event = (id: string, depth: number) => `{"specversion":"1.0","id":"${id}","source":"t","type":"api.request","subject":"nest","time":"${T}","data":{"route":"/n","method":"GET","bytes":1,"ms":1,"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const r = await s.request('POST', '/v1/events', `[${event('deep1', 10_000)},${event('deep2', 60)}]`);
    expect(r.status).toBe(200);
    expect(codes(r)).toEqual(['VALIDATION_FAILED', 'accepted']);
    expect(r.body.receipts[0].message).toMatch(/nested deeper than 64/);
  });

  it('a byte-order mark is refused in ids and at the start of values (the driver drops a leading one on read)', async () => {
    expect(codes(await post([ce('\ufeffbom', 'bomt', T, data()), ce('ok-bom', 'bomt', T, data('\ufeff/r')), ce('ok-bom2', 'bomt', T, data('/r\ufeff'))]))).toEqual(['INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'accepted']);
    expect(codes(await post([ce('\ufeffbom', 'bomt', T, data())]))).toEqual(['INVALID_IDENTIFIER']);
    expect(codes(await post([ce('ok-bom2', 'bomt', T, data('/r\ufeff'))]))).toEqual(['duplicate']);
  });
});

describe('2. tenants that differ only by a lone surrogate are never merged', () => {
  it('refuses the event and the read key, and a read of such a tenant', async () => {
    await post([ce('m1', 'u\ufffd', T, data())]);
    expect(codes(await post([ce('m2', 'u\ud800', T, data())]))).toEqual(['INVALID_IDENTIFIER']);
    expect(await count('u\ufffd')).toBe('1');
    const key = await s.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'u\ud800' });
    expect(key.status).toBe(400);
    expect(key.body.error.code).toBe('VALIDATION_FAILED');
    const read = await s.request('GET', `/v1/meters/requests/query?tenant=u%ED%A0%80&${DAY}`);
    // %ED%A0%80 is the CESU form of U+D800: decoded leniently it is U+FFFD ×3, never "u\ufffd".
    expect(read.status === 400 || read.body.data.length === 0).toBe(true);
    const bad = await s.request('POST', '/v1/meters/requests/query', { tenant: 'u\ud800', from: '2026-04-01T00:00:00Z', to: '2026-04-02T00:00:00Z' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_IDENTIFIER');
  });
});

describe('3. a NUL byte in any string that reaches SQL is a 4xx, never a 500', () => {
  const cases: [string, string, unknown?][] = [
    ['GET', `/v1/meters/requests/query?filterGroupBy[route]=a%00b&${DAY}`],
    ['GET', `/v1/meters/requests/query?tenant=a%00b&${DAY}`],
    ['GET', '/v1/quota/warnings?tenant=a%00b'],
    ['GET', '/v1/tenants/a%00b/entitlements'],
    ['POST', '/v1/keys', { name: 'a\u0000b', scopes: ['read'] }],
    ['POST', '/v1/keys', { name: 'ok', scopes: ['read'], tenant: 'a\u0000b' }],
    ['DELETE', '/v1/keys/a%00b'],
    ['POST', '/v1/meters', { slug: 'nul_meter', eventType: 'a\u0000b', aggregation: 'COUNT' }],
    ['POST', '/v1/quota/consume', { tenant: 'globex', meter: 'calls', idempotencyKey: 'k\u0000' }],
    ['POST', '/v1/meters/requests/query', { filterGroupBy: { route: ['a\u0000b'] } }],
  ];
  it.each(cases)('%s %s', async (method, path, body) => {
    const r = await s.request(method, path, body);
    expect(r.status).toBe(400);
    expect(Object.keys(ERROR_CODES)).toContain(r.body.error.code);
    expect(r.body.error.requestId).toMatch(/^req_/);
  });
  it('quotes, backslashes and comments in filters answer exactly (no rows), not an error', async () => {
    for (const v of ["a'b", 'a\\b', "x' OR '1'='1", '-- c', 'é"\\\'']) {
      const r = await s.request('POST', '/v1/meters/requests/query', { filterGroupBy: { route: [v] }, tenant: [v], from: '2026-04-01T00:00:00Z', to: '2026-04-02T00:00:00Z' });
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual([]);
    }
  });
});

describe('6. internal events cannot be forged', () => {
  it('refuses tally.* types and tally/ sources from API keys', async () => {
    const forged = { specversion: '1.0', id: 'qw_calls_0_80%', source: 'tally/quota', type: 'tally.quota.warning', subject: 'globex', time: T, data: { meter: 'calls', threshold: '80%' } };
    const r = await post([forged, { ...forged, id: 'f2', source: 'mine' }, { ...forged, id: 'f3', type: 'api.call' }]);
    expect(codes(r)).toEqual(['RESERVED_NAMESPACE', 'RESERVED_NAMESPACE', 'RESERVED_NAMESPACE']);
    expect((await s.request('GET', '/v1/quota/warnings?tenant=globex')).body.data).toEqual([]);
  });

  it("a real warning's id cannot be guessed and taken first", async () => {
    for (let i = 0; i < 9; i++) expect((await post([{ specversion: '1.0', id: `c${i}`, source: 'test', type: 'api.call', subject: 'storm', time: T, data: { ms: 1 } }])).body.accepted).toBe(1);
    const w = (await s.request('GET', '/v1/quota/warnings?tenant=storm')).body.data as { id: string; threshold: string }[];
    expect(w.map((x) => x.threshold)).toContain('80%');
    for (const x of w) expect(x.id).toMatch(/^qw_[0-9a-f]{32}$/);
  });
});

describe('7. CSV export escapes formula-leading cells', () => {
  it('prefixes = + - @ tab and CR with a quote in text cells, keeps numbers', async () => {
    const routes = ['=HYPERLINK("http://evil","x")', '+1', '-cmd', '@SUM(A1)', '\tx', '\rx', 'plain'];
    await post(routes.map((r, i) => ce(`csv${i}`, 'csvt', T, data(r))));
    const r = await s.request('GET', `/v1/meters/requests/query?tenant=csvt&groupBy=route&format=csv&${DAY}`);
    expect(r.status).toBe(200);
    const cells = r.text.trim().split('\n').slice(1).map((l) => l.split(',').slice(3, -1).join(','));
    expect(cells.sort()).toEqual([`"'=HYPERLINK(""http://evil"",""x"")"`, "'+1", "'-cmd", "'@SUM(A1)", "'\tx", `"'\rx"`, 'plain'].sort());
    expect(r.text).not.toMatch(/(^|,)=HYPERLINK/m);
  });
});

describe('8. every error is in the registry envelope', () => {
  const envelope = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; requestId: string } };
  it('bad URL encoding (Fastify)', async () => {
    const a = await rawHttp('GET /v1/meters/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(a).toMatch(/^HTTP\/1.1 400/);
    expect(envelope(a).error.code).toBe('MALFORMED_REQUEST');
  });
  it('headers too large (Node, 431)', async () => {
    const a = await rawHttp(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(a).toMatch(/^HTTP\/1.1 431/);
    expect(envelope(a).error).toMatchObject({ code: 'HEADERS_TOO_LARGE', requestId: expect.stringMatching(/^req_/) });
  });
  it('a malformed request line (Node, 400)', async () => {
    const a = await rawHttp('GARBAGE\r\n\r\n');
    expect(a).toMatch(/^HTTP\/1.1 400/);
    expect(envelope(a).error.code).toBe('MALFORMED_REQUEST');
  });
  it('an Expect header other than 100-continue (Node, 417)', async () => {
    const a = await rawHttp('GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: nope\r\nConnection: close\r\n\r\n');
    expect(a).toMatch(/^HTTP\/1.1 417/);
    expect(envelope(a).error.code).toBe('EXPECTATION_FAILED');
  });
  it('a body that is not valid UTF-8 is refused, never decoded into U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from(`[{"specversion":"1.0","id":"u8","source":"t","type":"api.request","subject":"ctl-`), Buffer.from([0xff]), Buffer.from(`","time":"${T}","data":{"route":"/a","method":"GET","bytes":1,"ms":1}}]`)]);
    const r = await fetch(`${s.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' }, body: bytes });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'MALFORMED_JSON', message: expect.stringMatching(/UTF-8/) });
    expect(await count('ctl-\ufffd')).toBe('0');
  });
  it('a long path parameter reaches validation', async () => {
    const r = await s.request('DELETE', `/v1/keys/${'k'.repeat(1000)}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
  });
});
