import { anyValue, BAD_PERCENT, eventTime, hostile, jsonBytes, long, put, quantity, requestSeed, Rng, urlEncode, WELL_FORMED_HOSTILE } from './fuzz-values.ts';
import { auth, cloudEvent, dimValue, EVENT_TYPES, FUZZ_TENANTS, JSON_TYPES, post, tenant, type FuzzContext, type FuzzRequest, type Gen } from './fuzz-events.ts';

/*
 * Request generators of the black-box fuzzer (test/fuzz.test.ts), one per surface. Request i
 * depends only on the seed and i (its own PRNG), so any one of them replays alone:
 * TALLY_FUZZ_SEED=s TALLY_FUZZ_ONLY=i.
 */

export type { FuzzContext, FuzzRequest } from './fuzz-events.ts';

const ingest: Gen = (r, c, index) => {
  const single = r.chance(0.2);
  const n = single ? 1 : r.chance(0.0025) ? r.between(2000, 10_000) : r.chance(0.1) ? r.between(20, 500) : r.between(1, 20);
  const events = Array.from({ length: n }, (_, k) => cloudEvent(r, c, index, k, n >= 500));
  if (!single && n > 1 && r.chance(0.1)) events.push(events[r.int(n)]); // the same id twice in one batch
  return post(r, single ? 'events/single' : n >= 2000 ? 'events/huge' : 'events/batch', '/v1/events', auth(r, c, 'ingest'), single ? events[0] : events, index);
};

const segment: Gen = (r, c, index) => {
  const n = r.chance(0.1) ? r.between(50, 500) : r.between(1, 20);
  const calls = Array.from({ length: n }, (_, k) => {
    if (r.chance(0.04)) return anyValue(r);
    const call: Record<string, unknown> = {
      type: r.chance(0.85) ? 'track' : r.pick(['identify', 'page', 'group', 'alias', 'TRACK', '', null, 1]),
      messageId: r.weighted<() => unknown>([[50, () => `seg${index}-${k}`], [20, () => `seg-dup-${r.int(30)}`], [22, () => hostile(r)], [8, () => anyValue(r)]])(),
      event: r.chance(0.8) ? r.pick(['Order Completed', 'Order Completed', 'api.call', 'llm.completion', 'tally.quota.warning']) : hostile(r),
      properties: r.chance(0.9) ? { total: quantity(r), ...(r.chance(0.3) ? { tenant: tenant(r, c) } : {}), ...(r.chance(0.1) ? { [hostile(r)]: anyValue(r) } : {}) } : anyValue(r),
      timestamp: eventTime(r, c.nowMs),
    };
    if (r.chance(0.75)) call.context = r.chance(0.9) ? { groupId: tenant(r, c), library: { name: 'fuzz' } } : anyValue(r);
    if (r.chance(0.5)) call.userId = r.chance(0.7) ? `u${r.int(30)}` : hostile(r);
    if (r.chance(0.2)) call.anonymousId = hostile(r);
    if (r.chance(0.1)) call.originalTimestamp = eventTime(r, c.nowMs);
    if (r.chance(0.1)) delete call[r.pick(['type', 'messageId', 'event', 'timestamp'])];
    return call;
  });
  const body: unknown = r.weighted<() => unknown>([
    [85, () => ({ batch: calls, sentAt: new Date(c.nowMs).toISOString(), ...(r.chance(0.2) ? { context: { groupId: tenant(r, c) } } : {}) })],
    [5, () => calls],
    [5, () => ({ batch: anyValue(r) })],
    [5, () => anyValue(r)],
  ])();
  const t = c.tokens;
  const authz = r.weighted<() => string | undefined>([
    [70, () => `Basic ${Buffer.from(`${t.ingest}:`).toString('base64')}`],
    [15, () => `Bearer ${t.ingest}`],
    [15, () => r.pick([undefined, `Basic ${Buffer.from(`${t.read}:`).toString('base64')}`, `Basic ${Buffer.from(t.ingest).toString('base64')}`, 'Basic ', 'Basic %%%', `Basic ${Buffer.from(`\u0000:${t.ingest}`).toString('base64')}`, `Basic ${Buffer.from(`${t.revoked}:x`).toString('base64')}`, 'Digest x'])],
  ])();
  return post(r, 'segment', '/v1/batch', authz === undefined ? {} : { authorization: authz }, body, index);
};

function isoAround(r: Rng, c: FuzzContext): string {
  return new Date(c.nowMs + (r.int(80) - 60) * 3_600_000 * r.pick([1, 1, 24, 24 * 30])).toISOString();
}

/**
 * Query parameters. `legal`: everything well-formed for the meter (its own dimensions, ranges
 * that fit), with hostile but legal text in tenants and filter values, so the query paths down
 * to SQL run; otherwise anything.
 */
function queryParams(r: Rng, c: FuzzContext, legal: boolean, slug: string): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  const val = (good: () => unknown) => (legal || r.chance(0.8) ? good() : r.chance(0.7) ? hostile(r) : anyValue(r));
  const text = () => (legal ? r.pick(WELL_FORMED_HOSTILE) : hostile(r));
  const own = Object.hasOwn(c.meterDimensions, slug) ? c.meterDimensions[slug]! : [];
  const end = c.nowMs + 3_600_000 - r.int(legal ? 3 : 80) * 86_400_000;
  if (legal || r.chance(0.7)) p.from = val(() => (legal ? new Date(end - r.pick([1, 6, 30, 200]) * 3_600_000).toISOString() : isoAround(r, c)));
  if (legal || r.chance(0.7)) p.to = val(() => (legal ? new Date(end).toISOString() : isoAround(r, c)));
  if (r.chance(0.5)) p.windowSize = val(() => r.pick(legal ? ['HOUR', 'DAY', 'MONTH'] : ['MINUTE', 'HOUR', 'DAY', 'MONTH', 'hour', 'WEEK']));
  if (r.chance(0.3)) p.windowTimeZone = val(() => r.pick(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe', ...(legal ? [] : ['Etc/GMT+12', '+05:30', 'Mars/Olympus', 'utc', 'Local'])]));
  const tenants = () => Array.from({ length: r.between(1, 3) }, () => (r.chance(0.3) ? r.pick(c.controlTenants) : r.chance(0.5) ? r.pick(FUZZ_TENANTS) : text()));
  if (r.chance(0.6)) p.tenant = val(() => (r.chance(0.5) ? tenants() : tenants().join(',')));
  const dimsOf = legal ? [...own, 'tenant'] : [...c.dimensions, 'tenant'];
  const dims = () => Array.from({ length: r.between(1, 3) }, () => (legal || r.chance(0.7) ? r.pick(dimsOf) : hostile(r)));
  if (r.chance(0.5)) p.groupBy = val(() => (r.chance(0.5) ? dims() : dims().join(',')));
  if (r.chance(0.5) && (!legal || own.length > 0)) {
    const f: Record<string, unknown> = {};
    for (let i = r.between(1, 3); i > 0; i--) put(f, legal ? r.pick(own) : r.chance(0.7) ? r.pick(c.dimensions) : hostile(r), r.chance(0.5) ? [text(), text()] : r.chance(0.5) ? text() : r.pick(['/a', '/b/:id', 'GET']));
    p.filterGroupBy = legal || r.chance(0.9) ? f : anyValue(r);
  }
  if (!legal && r.chance(0.05)) put(p, hostile(r), hostile(r));
  return p;
}

function meterSlug(r: Rng, c: FuzzContext): string {
  return r.weighted<() => string>([
    [80, () => r.pick(c.meters)],
    [10, () => urlEncode(r, hostile(r))],
    [5, () => r.pick(BAD_PERCENT)],
    [5, () => r.pick(['nope', 'Requests', long(r.pick([99, 100, 101, 2047, 2048, 2049, 5000]), 'a')])],
  ])();
}

function accept(r: Rng): Record<string, string> {
  const a = r.chance(0.85) ? r.pick([undefined, undefined, 'application/json', 'text/csv', 'text/csv;q=0.5, application/json', '*/*']) : r.pick(['application/xml', 'image/png', 'text/*', '\xff', 'application/json;q=0']);
  return a === undefined ? {} : { accept: a };
}

/** The read key, or the admin key (a legal query needs no wrong key). */
const readToken = (r: Rng, c: FuzzContext) => ({ authorization: `Bearer ${r.pick([c.tokens.read, c.tokens.admin])}` });

const queryGet: Gen = (r, c, index) => {
  const legal = r.chance(0.5);
  const slug = legal ? r.pick(c.meters) : meterSlug(r, c);
  const pairs: string[] = [];
  // Legal queries encode names, times and dimensions plainly; hostile encodings go into the text values.
  const enc = (v: string) => (!legal && r.chance(0.02) ? r.pick(BAD_PERCENT) : urlEncode(r, v));
  const plain = (v: string) => (legal ? encodeURIComponent(v) : enc(v));
  for (const [k, v] of Object.entries(queryParams(r, c, legal, slug))) {
    if (k === 'filterGroupBy') {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [d, x] of Object.entries(v)) for (const one of Array.isArray(x) ? x : [x]) pairs.push(`filterGroupBy[${plain(d)}]=${enc(String(one))}`);
      continue;
    }
    const value = (one: unknown) => (typeof one === 'string' ? one : (JSON.stringify(one) ?? ''));
    for (const one of Array.isArray(v) ? v : [v]) pairs.push(`${plain(k)}=${k === 'tenant' ? enc(value(one)) : plain(value(one))}`);
  }
  if (r.chance(0.15)) pairs.push(`format=${r.pick(legal ? ['csv', 'json'] : ['csv', 'json', 'CSV', 'xml', ''])}`);
  if (!legal && r.chance(0.1)) pairs.push(r.pick(['filterGroupBy[]=x', 'filterGroupBy[route][x]=y', 'filterGroupBy=x', 'tenant[]=a', '__proto__[x]=1', 'constructor=1', '=x', 'tenant', '&&&', 'a=1&a=2&a=3', `tenant=${long(20_000, 'a')}`, Array.from({ length: 1000 }, (_, i) => `tenant=t${i}`).join('&')]));
  const headers = legal ? { ...readToken(r, c), ...(r.chance(0.3) ? { accept: r.pick(['text/csv', 'application/json']) } : {}) } : { ...auth(r, c, 'read'), ...accept(r) };
  return { index, kind: legal ? 'query/get' : 'query/get-any', method: 'GET', path: `/v1/meters/${slug}/query${pairs.length ? '?' + pairs.join('&') : ''}`, headers };
};

const queryPost: Gen = (r, c, index) => {
  const legal = r.chance(0.5);
  const slug = legal ? r.pick(c.meters) : meterSlug(r, c);
  if (legal) {
    const headers = { 'content-type': 'application/json', ...readToken(r, c), ...(r.chance(0.3) ? { accept: r.pick(['text/csv', 'application/json']) } : {}) };
    return { index, kind: 'query/post', method: 'POST', path: `/v1/meters/${slug}/query`, headers, body: jsonBytes(queryParams(r, c, true, slug)) };
  }
  const body = r.chance(0.93) ? queryParams(r, c, false, slug) : anyValue(r);
  return post(r, 'query/post-any', `/v1/meters/${slug}/query`, { ...auth(r, c, 'read'), ...accept(r) }, body, index);
};

const keys: Gen = (r, c, index) => {
  const op = r.int(10);
  if (op < 3) return { index, kind: 'keys/list', method: 'GET', path: '/v1/keys', headers: auth(r, c, 'admin') };
  if (op < 5) {
    const id = r.chance(0.2) ? c.victimKeyId : r.chance(0.2) ? r.pick(BAD_PERCENT) : urlEncode(r, hostile(r));
    return { index, kind: 'keys/revoke', method: 'DELETE', path: `/v1/keys/${id}`, headers: auth(r, c, 'admin') };
  }
  const body: Record<string, unknown> = {
    name: r.chance(0.5) ? `fuzz-${r.int(100)}` : hostile(r),
    scopes: r.chance(0.7) ? [r.pick(['ingest', 'read', 'admin'])] : r.pick([[], ['read', 'ingest'], ['root'], 'admin', [hostile(r)], null]),
  };
  if (r.chance(0.4)) body.tenant = r.chance(0.5) ? r.pick([...FUZZ_TENANTS, ...c.controlTenants]) : hostile(r);
  if (r.chance(0.1)) put(body, hostile(r), anyValue(r));
  if (r.chance(0.1)) body[r.pick(['name', 'scopes', 'tenant'])] = anyValue(r);
  return post(r, 'keys/create', '/v1/keys', auth(r, c, 'admin'), r.chance(0.95) ? body : anyValue(r), index);
};

/** Values the control tenants' events carry, by event type. */
const CONTROL_VALUES: Record<string, readonly string[]> = { 'api.request': ['$.bytes', '$.ms'], 'llm.completion': ['$.usage.tokens'], 'api.call': ['$.ms'], 'Order Completed': ['$.total'] };
const PATHS = ['$.route', '$.method', '$.bytes', '$.usage.tokens', '$.model', '$.total', '$actor', '$', '$.', '$..a', '$[0]', "$['a b']", '$.a[0].b', '$.*', 'route', '$.__proto__', '$["\\u0000"]', "$['", '$.a.b.c.d.e.f.g.h.i.j'];

const meters: Gen = (r, c, index) => {
  const op = r.int(10);
  if (op < 2) return { index, kind: 'meters/list', method: 'GET', path: '/v1/meters', headers: auth(r, c, 'read') };
  if (op < 4) return { index, kind: 'meters/get', method: 'GET', path: `/v1/meters/${meterSlug(r, c)}`, headers: auth(r, c, 'read') };
  const aggregation = r.chance(0.9) ? r.pick(['COUNT', 'SUM', 'UNIQUE_COUNT', 'MIN', 'MAX', 'AVG', 'LATEST']) : hostile(r);
  const body: Record<string, unknown> = {
    // Few slugs, so the meters the fuzzer creates stay a handful; known slugs try redefinition.
    slug: r.chance(0.8) ? `fz-m${r.int(12)}` : r.chance(0.5) ? r.pick(c.meters) : hostile(r),
    eventType: r.chance(0.6) ? r.pick(EVENT_TYPES) : hostile(r),
    aggregation,
  };
  if (aggregation !== 'COUNT' || r.chance(0.1)) {
    // A meter whose value an event lacks rejects that event, by design (INVALID_METER_VALUE): on
    // the control tenants' event types, read only values their events carry, so admin meter
    // creation cannot legitimately refuse the control ingest after the run.
    const carried = Object.hasOwn(CONTROL_VALUES, body.eventType as string) ? CONTROL_VALUES[body.eventType as string] : undefined;
    body.valueProperty = carried ? r.pick([...carried, '$actor']) : r.chance(0.5) ? r.pick(['$.bytes', '$.ms', '$.usage.tokens', '$.total', '$actor']) : r.pick([...PATHS, hostile(r)]);
  }
  if (r.chance(0.7)) {
    const g: Record<string, unknown> = {};
    for (let i = r.pick([0, 1, 2, 2, 9]); i > 0; i--) put(g, r.chance(0.8) ? r.pick(['route', 'method', 'model', 'tenant', 'r2', '_x']) + (i > 3 ? i : '') : hostile(r), r.chance(0.8) ? r.pick(PATHS) : hostile(r));
    body.groupBy = g;
  }
  if (r.chance(0.1)) body.description = hostile(r);
  if (r.chance(0.1)) put(body, r.pick(['slug', 'aggregation', 'groupBy', hostile(r)]), anyValue(r));
  return post(r, 'meters/create', '/v1/meters', auth(r, c, 'admin'), body, index);
};

const quota: Gen = (r, c, index) => {
  const op = r.int(10);
  const someTenant = () => (r.chance(0.5) ? r.pick(c.planTenants) : r.chance(0.3) ? r.pick(c.controlTenants) : hostile(r));
  const quotaMeter = () => (r.chance(0.8) ? r.pick(['calls', 'completions', 'tokens', 'latency', 'requests']) : hostile(r));
  if (op < 2) return { index, kind: 'quota/entitlements', method: 'GET', path: `/v1/tenants/${urlEncode(r, someTenant())}/entitlements`, headers: auth(r, c, 'read') };
  if (op < 3) return { index, kind: 'quota/entitlement', method: 'GET', path: `/v1/tenants/${urlEncode(r, someTenant())}/entitlements/${urlEncode(r, quotaMeter())}`, headers: auth(r, c, 'read') };
  if (op < 5) {
    const q: string[] = [];
    if (r.chance(0.6)) q.push(`tenant=${urlEncode(r, someTenant())}`);
    if (r.chance(0.3)) q.push(`meter=${urlEncode(r, quotaMeter())}`);
    if (r.chance(0.4)) q.push(`from=${urlEncode(r, r.chance(0.8) ? isoAround(r, c) : hostile(r))}`);
    if (r.chance(0.4)) q.push(`to=${urlEncode(r, r.chance(0.8) ? isoAround(r, c) : hostile(r))}`);
    if (r.chance(0.1)) q.push(`${urlEncode(r, hostile(r))}=1`);
    if (r.chance(0.05)) q.push(r.pick(BAD_PERCENT));
    return { index, kind: 'quota/warnings', method: 'GET', path: `/v1/quota/warnings${q.length ? '?' + q.join('&') : ''}`, headers: auth(r, c, 'read') };
  }
  const meter = quotaMeter();
  const body: Record<string, unknown> = {
    tenant: r.chance(0.4) ? tenant(r, c) : r.pick(c.planTenants),
    meter,
    idempotencyKey: r.weighted<() => unknown>([[50, () => `q${index}`], [20, () => `qdup-${r.int(30)}`], [25, () => hostile(r)], [5, () => anyValue(r)]])(),
  };
  if (r.chance(0.7)) body.amount = meter === 'tokens' ? quantity(r) : r.chance(0.8) ? 1 : quantity(r);
  if (r.chance(0.5)) body.data = r.chance(0.9) ? { model: dimValue(r), route: dimValue(r), ms: quantity(r) } : anyValue(r);
  if (r.chance(0.05)) put(body, hostile(r), anyValue(r));
  if (r.chance(0.05)) body.tenant = anyValue(r);
  return post(r, 'quota/consume', '/v1/quota/consume', auth(r, c, 'ingest'), r.chance(0.95) ? body : anyValue(r), index);
};

const misc: Gen = (r, c, index) => {
  const known = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/v1/events', '/v1/batch', '/v1/meters', '/v1/keys', '/v1/quota/consume', '/v1/quota/warnings', `/v1/meters/${r.pick(c.meters)}/query`, '/'];
  const path = r.weighted<() => string>([
    [30, () => r.pick(known)],
    [20, () => r.pick(['/v1', '/v1/', '/V1/EVENTS', '/v1/events/', '//v1/events', '/v1/./events', '/v1/../v1/keys', '/v1/%2e%2e/v1/keys', '/v1/meters//query', '/v1/tenants//entitlements', '/favicon.ico', '/v1/events?', '/v1/events#x', '/v1/events;x', '/\\v1\\events'])],
    [20, () => '/' + r.pick(BAD_PERCENT) + (r.chance(0.5) ? '/v1/events' : '')],
    [15, () => `/v1/meters/${long(r.pick([1000, 8000, 17_000, 70_000]), r.pick(['a', '%00', '%ff']))}/query`],
    [15, () => `/v1/meters/requests/query?tenant=${long(r.pick([8000, 17_000, 70_000]), 'a')}`],
  ])();
  const method = r.weighted<string>([[50, 'GET'], [10, 'POST'], [8, 'PUT'], [8, 'PATCH'], [8, 'DELETE'], [6, 'OPTIONS'], [3, 'TRACE'], [3, 'PROPFIND'], [2, 'FOO'], [2, 'get']]);
  const headers: Record<string, string> = { ...auth(r, c, r.pick(['ingest', 'read', 'admin'] as const)) };
  if (r.chance(0.05)) headers['x-fuzz'] = long(r.pick([8000, 17_000, 40_000]));
  if (r.chance(0.03)) headers.expect = r.pick(['100-continue', 'nope', '']);
  if (r.chance(0.03)) headers['x-request-id'] = r.pick(['', ' ', long(10_000), '\xff\xfe', 'a,b', 'req_1', '../x']);
  if (r.chance(0.02)) for (let i = 0; i < 500; i++) headers[`x-h${i}`] = String(i);
  const req: FuzzRequest = { index, kind: 'misc', method, path, headers };
  if (method !== 'GET' && method !== 'OPTIONS' && method !== 'TRACE' && r.chance(0.6)) {
    headers['content-type'] = r.pick([...JSON_TYPES, 'text/plain']);
    req.body = jsonBytes(r.chance(0.5) ? [cloudEvent(r, c, index, 0)] : anyValue(r));
  }
  return req;
};

/** Malformed HTTP written to a plain socket (Node's parser answers these, not the routes). */
const rawSocket: Gen = (r, c, index) => {
  const ok = `Authorization: Bearer ${c.tokens.ingest}\r\nContent-Type: application/json\r\nConnection: close\r\n`;
  const text = r.pick<() => string | Buffer>([
    () => 'GARBAGE\r\n\r\n',
    () => 'GET /healthz HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n',
    () => 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n',
    () => 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nConnection: close\r\n\r\n',
    () => `POST /v1/events HTTP/1.1\r\nHost: x\r\n${ok}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    () => `POST /v1/events HTTP/1.1\r\nHost: x\r\n${ok}Transfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n`,
    () => `POST /v1/events HTTP/1.1\r\nHost: x\r\n${ok}Content-Length: 2\r\nContent-Length: 3\r\n\r\n[]`,
    () => Buffer.concat([Buffer.from('GET /v1/meters/'), Buffer.from([0x00, 0xff, 0xfe]), Buffer.from('/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]),
    () => `GET /${long(20_000, 'a')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    () => `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${long(20_000)}\r\nConnection: close\r\n\r\n`,
    () => 'GET /healthz HTTP/1.0\r\n\r\n',
    () => 'GET http://evil.example/v1/keys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    () => 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    () => 'GET /healthz HTTP/1.1\r\nHost: x\r\n Folded: y\r\nConnection: close\r\n\r\n',
    () => 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n',
    () => `POST /v1/events HTTP/1.1\r\nHost: x\r\n${ok}Content-Length: -1\r\n\r\n`,
  ])();
  return { index, kind: 'raw', method: 'RAW', path: '', headers: {}, raw: typeof text === 'string' ? Buffer.from(text, 'latin1') : text };
};

const GENERATORS: readonly (readonly [number, Gen])[] = [
  [30, ingest],
  [9, segment],
  [13, queryGet],
  [7, queryPost],
  [8, keys],
  [7, meters],
  [14, quota],
  [9, misc],
  [2, rawSocket],
];

/** Request `index` of the run with `seed`. */
export function generate(seed: number, index: number, c: FuzzContext): FuzzRequest {
  const r = new Rng(requestSeed(seed, index));
  return r.weighted(GENERATORS)(r, c, index);
}
