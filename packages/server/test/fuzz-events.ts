import { gzipSync } from 'node:zlib';
import { anyValue, BAD_BYTES, deep, eventTime, hostile, jsonBytes, long, put, quantity, RAW_VALUES, type Rng } from './fuzz-values.ts';

/*
 * The fuzzer's requests and events (test/fuzz.test.ts): CloudEvents for fuzz tenants (never a
 * control tenant), authorization headers, and bodies broken on the byte level, gzip or not.
 */

/** One generated request. */
export interface FuzzRequest {
  index: number;
  /** What was generated, e.g. `events/batch+gzip` (groups failures). */
  kind: string;
  method: string;
  /** Path and query exactly as sent (Latin-1 characters go out as single bytes). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
  /** A malformed request written as is to a plain socket (method, path and headers unused). */
  raw?: Buffer;
}

/** What the generators may address. */
export interface FuzzContext {
  nowMs: number;
  tokens: { admin: string; ingest: string; read: string; portal: string; revoked: string };
  /** The tenant the portal (read) key is bound to. */
  portalTenant: string;
  /** A key the fuzzer may revoke (none of the keys it uses). */
  victimKeyId: string;
  /** Never the subject of a generated event or consumption: only the control batch writes them. */
  controlTenants: readonly string[];
  /** Tenants with a plan (quota endpoints). */
  planTenants: readonly string[];
  meters: readonly string[];
  dimensions: readonly string[];
  /** Each meter's groupBy dimensions. */
  meterDimensions: Readonly<Record<string, readonly string[]>>;
}

export type Gen = (r: Rng, c: FuzzContext, index: number) => FuzzRequest;

export const JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];
const BAD_TYPES = ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/json;;;', 'APPLICATION/JSON', 'application/json ', '', '*/*', 'application/jsonx', 'application/json, text/plain', 'application/cloudevents+json; charset=utf-8', 'application/octet-stream', 'application/\xff'];
export const EVENT_TYPES = ['api.request', 'api.request', 'api.request', 'llm.completion', 'llm.completion', 'api.call', 'Order Completed', 'tally.quota.warning', 'tally.fuzz', 'fuzz.other'];
const SOURCES = ['fuzz', 'fuzz', 'fuzz', 'https://fuzz.example/app', 'tally/quota', 'tally/x', 'urn:tally:segment', 'tally'];
export const FUZZ_TENANTS = ['fz-a', 'fz-b', 'fz-c', 'fz-d', 'fz-portal', 'fz-e'];

/** A tenant for an event or consumption: fuzz tenants, plan tenants, near misses of the control tenants, hostile strings. Never a control tenant. */
export function tenant(r: Rng, c: FuzzContext): string {
  const ctl = r.pick(c.controlTenants);
  const t = r.weighted<() => string>([
    [40, () => r.pick(FUZZ_TENANTS)],
    [15, () => r.pick(c.planTenants)],
    [10, () => r.pick([`${ctl}\ud800`, `${ctl}\udfff`, `${ctl}\udc00`, `\ud800${ctl}`, `${ctl}\u0000`, `${ctl}\u0000x`, ctl.replace('\ufffd', '\ud800'), ctl.replace('\ufffd', '\udfff'), ctl.replace('\ufffd', '\udbff')])],
    [25, () => hostile(r)],
    [10, () => `fz-${r.int(50)}`],
  ])();
  return c.controlTenants.includes(t) ? `${t}-not` : t;
}

/** An event id: shared pools (duplicates within and across batches), unique, or hostile. */
function eventId(r: Rng, index: number, k: number): unknown {
  return r.weighted<() => unknown>([
    [45, () => `f${index}-${k}`],
    [20, () => `dup-${r.int(40)}`],
    [20, () => hostile(r)],
    [8, () => r.pick(['\ud800', '\udfff', '\ufffd', 'q\ud800', 'q\udfff', 'q\ufffd', `s${r.int(5)}\ud800`, `s${r.int(5)}\udfff`])],
    [7, () => anyValue(r)],
  ])();
}

/** A dimension value: plain routes, hostile strings (formulas, NUL, surrogates), wrong types. */
export function dimValue(r: Rng): unknown {
  return r.weighted<() => unknown>([
    [50, () => r.pick(['/a', '/b/:id', '/c', '/'])],
    [35, () => hostile(r)],
    [15, () => anyValue(r)],
  ])();
}

/** The data an event type's meters read, with hostile values. */
function eventData(r: Rng, type: unknown, light: boolean): unknown {
  if (!light && r.chance(0.03)) return r.pick<() => unknown>([() => anyValue(r), () => deep(r), () => r.pick(RAW_VALUES.slice(7))()])();
  let d: Record<string, unknown>;
  if (type === 'llm.completion') d = { model: dimValue(r), usage: r.chance(0.9) ? { tokens: quantity(r) } : anyValue(r) };
  else if (type === 'api.call') d = { ms: quantity(r) };
  else if (type === 'Order Completed') d = { total: quantity(r) };
  else d = { route: dimValue(r), method: r.chance(0.8) ? r.pick(['GET', 'POST']) : dimValue(r), bytes: quantity(r), ms: quantity(r) };
  if (r.chance(0.1)) put(d, hostile(r), anyValue(r));
  if (light) return d;
  if (r.chance(0.01)) d.nested = deep(r);
  if (r.chance(0.005)) d.items = new Array(r.between(1000, 50_000)).fill(r.int(10));
  if (r.chance(0.005)) d.big = long(r.pick([100_000, 1_000_000]), r.pick(['x', 'é', '\ud800']));
  return d;
}

/** A CloudEvent for a fuzz tenant (never a control tenant), often broken. */
/** `light`: no big strings, arrays or deep nesting (huge batches stay within the body limit). */
export function cloudEvent(r: Rng, c: FuzzContext, index: number, k: number, light = false): unknown {
  if (r.chance(0.04)) return anyValue(r);
  const type = r.chance(0.9) ? r.pick(EVENT_TYPES) : r.chance(0.5) ? hostile(r) : anyValue(r);
  const e: Record<string, unknown> = {
    specversion: '1.0',
    id: eventId(r, index, k),
    source: r.chance(0.85) ? r.pick(SOURCES) : hostile(r),
    type,
    subject: tenant(r, c),
    time: eventTime(r, c.nowMs),
    data: eventData(r, type, light),
  };
  if (r.chance(0.2)) e.actor = r.chance(0.6) ? `user-${r.int(20)}` : hostile(r);
  if (r.chance(0.05)) e.datacontenttype = r.pick(['application/json', 'text/plain', hostile(r)]);
  if (r.chance(0.05)) put(e, hostile(r), anyValue(r));
  for (let m = r.chance(0.25) ? r.between(1, 2) : 0; m > 0; m--) {
    const f = r.pick(['specversion', 'id', 'source', 'type', 'subject', 'time', 'data', 'actor']);
    if (f === 'subject') delete e.subject;
    else if (r.chance(0.3)) delete e[f];
    else e[f] = r.chance(0.5) ? anyValue(r) : hostile(r);
  }
  return e;
}

/** The Authorization header for an endpoint needing `scope`: mostly right, sometimes wrong. */
export function auth(r: Rng, c: FuzzContext, scope: 'ingest' | 'read' | 'admin'): Record<string, string> {
  const t = c.tokens;
  if (r.chance(0.88)) {
    const token = scope === 'admin' ? t.admin : scope === 'ingest' ? r.pick([t.ingest, t.ingest, t.admin]) : r.pick([t.read, t.read, t.admin, t.portal]);
    return { authorization: `Bearer ${token}` };
  }
  const v = r.pick([undefined, 'Bearer', 'Bearer ', 'Bearer bogus', `bearer ${t.admin}`, `Bearer ${t.revoked}`, `Bearer ${t.read}`, `Bearer ${t.portal}`, `Bearer ${t.ingest}`, `Bearer  ${t.admin}  `, `Basic ${Buffer.from(`${t.admin}:`).toString('base64')}`, `Bearer ${t.admin}\xff`, `Bearer ${long(5000)}`, 'Basic !!!', `Bearer ${t.admin.slice(0, -1)}`]);
  return v === undefined ? {} : { authorization: v };
}

/** Encodes the body: usually as JSON, sometimes broken on the byte level, gzip or not. */
function encodeBody(r: Rng, value: unknown, headers: Record<string, string>): { body: Buffer; kind: string } {
  let body = jsonBytes(value);
  let kind = '';
  if (r.chance(0.1)) {
    const [k, b] = r.pick<() => [string, Buffer]>([
      () => ['truncated', body.subarray(0, r.int(body.length))],
      () => ['trailing', Buffer.concat([body, Buffer.from(r.pick([' x', '}', ']', ',', '\u0000', '{}']))])],
      () => ['empty', Buffer.alloc(0)],
      () => ['scalar', Buffer.from(r.pick(['null', '[]', '{}', '"x"', '1', 'true', '1e999', '-0', '[null]', '[1,2]', '[[]]']))],
      () => ['bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body])],
      () => ['utf16', Buffer.from(body.toString('utf8'), 'utf16le')],
      () => ['comment', Buffer.concat([Buffer.from('/* c */'), body])],
      () => ['deep', deep(r).bytes],
      () => ['spaces', Buffer.concat([Buffer.alloc(r.pick([1000, 100_000]), 0x20), body])],
      () => ['garbage', Buffer.from(Array.from({ length: r.between(1, 64) }, () => r.int(256)))],
      () => {
        // Invalid UTF-8 inside a string value (after an opening quote that follows a colon).
        const at = body.indexOf(':"', r.int(body.length));
        return ['badutf8', at < 0 ? body : Buffer.concat([body.subarray(0, at + 2), r.pick(BAD_BYTES), body.subarray(at + 2)])];
      },
    ])();
    body = b;
    kind = `+${k}`;
  }
  const enc = r.weighted<string>([[75, 'identity'], [17, 'gzip'], [3, 'badgzip'], [1, 'bomb'], [4, 'other']]);
  if (enc === 'gzip') {
    headers['content-encoding'] = r.pick(['gzip', 'gzip', 'GZIP', 'gzip ']);
    body = gzipSync(body);
    kind += '+gzip';
  } else if (enc === 'badgzip') {
    headers['content-encoding'] = 'gzip';
    const gz = gzipSync(body);
    body = r.pick([() => body, () => gz.subarray(0, r.between(1, Math.max(1, gz.length - 1))), () => Buffer.concat([gz, Buffer.from('junk')]), () => Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), () => gzipSync(gz), () => gzipSync(Buffer.from('not json'))])();
    kind += '+badgzip';
  } else if (enc === 'bomb') {
    headers['content-encoding'] = 'gzip';
    body = bomb(r.pick([11, 64]));
    kind += '+gzipbomb';
  } else if (enc === 'other') {
    headers['content-encoding'] = r.pick(['deflate', 'br', 'identity', 'gzip, identity', 'x-gzip', 'compress', '', 'gzip;q=1', '\xff']);
    kind += '+encoding';
  }
  return { body, kind };
}

const bombs = new Map<number, Buffer>();
/** `mib` MiB of zeros, gzipped (about 1/1000 of that on the wire). */
function bomb(mib: number): Buffer {
  let b = bombs.get(mib);
  if (!b) bombs.set(mib, (b = gzipSync(Buffer.alloc(mib * 1024 * 1024, 0x20), { level: 9 })));
  return b;
}

function contentType(r: Rng): Record<string, string> {
  if (r.chance(0.9)) return { 'content-type': r.pick(JSON_TYPES) };
  const t = r.pick([...BAD_TYPES, undefined]);
  return t === undefined ? {} : { 'content-type': t };
}

export function post(r: Rng, kind: string, path: string, headers: Record<string, string>, value: unknown, index: number): FuzzRequest {
  const h = { ...contentType(r), ...headers };
  const { body, kind: bk } = encodeBody(r, value, h);
  return { index, kind: kind + bk, method: 'POST', path, headers: h, body, chunked: r.chance(0.05) };
}
