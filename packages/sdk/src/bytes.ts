/**
 * Writes CloudEvents straight into the queue's byte slab, without building the event as a JS
 * string first. Building it as a string made a rope of a dozen pieces that `Buffer#write` then had
 * to flatten (a second copy, and garbage) before encoding it: together more than half of what
 * track() cost. Here the parts that repeat from event to event (the envelope with type, tenant and
 * source; route, method and status with the keys around them; the time of the current
 * millisecond) are kept as ready UTF-8 bytes and copied; ids and numbers are written digit by
 * digit; only caller-supplied JSON (`properties`) goes through the string encoder, once.
 *
 * The output is byte for byte what {@link CloudEventEncoder} produces (bytes.test.ts checks it).
 */
import type { SlabWriter } from './encode.ts';
import { CE, numberJson, statusClassOf } from './encode.ts';
import { writeUuidv7 } from './uuid.ts';

const bytesOf = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Offset of a generated id's 36 characters in an event written here: after `{"id":"`. */
export const ID_OFFSET = 7;

const OPEN_ID = bytesOf('{"id":"');
const OPEN = bytesOf(CE.open);
const DATA = bytesOf(CE.data);
const REQUEST_BYTES = bytesOf(',"requestBytes":');
const RESPONSE_BYTES = bytesOf(',"responseBytes":');
const ABORTED = bytesOf(',"aborted":true');
const ERROR = bytesOf(',"error":');
const CLOSE_DATA_AND_EVENT = bytesOf('}}');
const QUOTE = 0x22;
const DOT = 0x2e;
const ZERO = 0x30;
const CLOSE = 0x7d;

/** Room for the fixed parts and numbers of one event, on top of its variable strings. */
const FIXED_ROOM = 512;

/**
 * Ready bytes of `make(key)` for a bounded set of keys (tenants, routes, methods): a Map, with the
 * last key checked first since consecutive events mostly repeat it. Past `max` keys, bytes are
 * made on each call instead of cached.
 */
class Segments {
  private readonly cache = new Map<string, Buffer>();
  private lastKey: string | undefined;
  private last: Buffer = OPEN;

  constructor(
    private readonly make: (key: string) => string,
    private readonly max: number,
  ) {}

  of(key: string): Buffer {
    if (key === this.lastKey) return this.last;
    let b = this.cache.get(key);
    if (b === undefined) {
      b = bytesOf(this.make(key));
      if (this.cache.size < this.max) this.cache.set(key, b);
    }
    this.lastKey = key;
    this.last = b;
    return b;
  }
}

/** Copies `src` into `buf` at `pos`; returns the position after it. */
function put(buf: Buffer, pos: number, src: Buffer): number {
  buf.set(src, pos);
  return pos + src.length;
}

/** A non-negative safe integer as ASCII digits at `pos`; returns the position after them. */
function putUint(buf: Buffer, pos: number, n: number): number {
  let len = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
  let at = pos + len;
  let t = n;
  do {
    buf[--at] = ZERO + (t % 10);
    t = Math.floor(t / 10);
  } while (t > 0);
  return pos + len;
}

/** A number as JSON (0 for NaN / ±Infinity, like numberJson); returns the position after it. */
function putNumber(buf: Buffer, pos: number, n: number): number {
  if (n >= 0 && Number.isSafeInteger(n)) return putUint(buf, pos, n);
  return pos + buf.write(String(numberJson(n)), pos, 'latin1');
}

/** A millisecond duration with microsecond precision, exactly as millisJson formats it. */
function putMillis(buf: Buffer, pos: number, ms: number): number {
  if (!(ms >= 0) || ms > 1e12) return pos + buf.write(ms > 1e12 ? String(Math.round(ms)) : '0', pos, 'latin1');
  const us = Math.round(ms * 1000);
  const whole = Math.floor(us / 1000);
  const frac = us - whole * 1000;
  pos = putUint(buf, pos, whole);
  buf[pos] = DOT;
  buf[pos + 1] = ZERO + Math.floor(frac / 100);
  buf[pos + 2] = ZERO + (Math.floor(frac / 10) % 10);
  buf[pos + 3] = ZERO + (frac % 10);
  return pos + 4;
}

/** A UTF-8 string at `pos`; returns the position after it. */
function putString(buf: Buffer, pos: number, s: string): number {
  return pos + buf.write(s, pos, 'utf8');
}

/** Bytes of the time of `ms` as a quoted RFC 3339 string, for the current millisecond. */
let timeMs = -1;
let timeBytes = bytesOf('""');
function quotedTimeBytes(ms: number): Buffer {
  if (ms !== timeMs) {
    timeBytes = bytesOf('"' + new Date(ms).toISOString() + '"');
    timeMs = ms;
  }
  return timeBytes;
}

/** `,"status":200,"statusClass":"2xx","durationMs":` and the like, made once per status code. */
const statusSegments: (Buffer | undefined)[] = [];
function statusSegment(status: number): Buffer {
  const cacheable = Number.isInteger(status) && status >= 0 && status < 1000;
  let b = cacheable ? statusSegments[status] : undefined;
  if (b === undefined) {
    b = bytesOf(`,"status":${numberJson(status)},"statusClass":${JSON.stringify(statusClassOf(status))},"durationMs":`);
    if (cacheable) statusSegments[status] = b;
  }
  return b;
}

/**
 * Writes events for one client (its caches are per `source`). Each method writes at the slab
 * writer's position without committing and returns the event's length in bytes; the caller
 * commits it, or not (over maxEventBytes).
 */
export class EventWriter {
  /** The envelope after the id up to `"time":`, per type, then per tenant. */
  private readonly heads = new Map<string, Segments>();
  private readonly routes = new Segments((r) => `,"datacontenttype":"application/json","data":{"route":${JSON.stringify(r)},"method":`, 1024);
  private readonly methods = new Segments((m) => JSON.stringify(m), 64);
  private readonly actors = new Segments((a) => `,"actor":${JSON.stringify(a)}}`, 1024);

  constructor(private readonly source: string) {}

  private head(source: string | undefined, type: string, tenant: string): Buffer {
    const key = source === undefined ? type : JSON.stringify([source, type]);
    let byTenant = this.heads.get(key);
    if (byTenant === undefined) {
      const prefix = CE.source + JSON.stringify(source ?? this.source) + CE.type + JSON.stringify(type) + CE.subject;
      byTenant = new Segments((t) => prefix + JSON.stringify(t) + CE.time, 1024);
      if (this.heads.size < 64) this.heads.set(key, byTenant);
    }
    return byTenant.of(tenant);
  }

  private tail(actor: string | undefined): Buffer | undefined {
    return actor === undefined ? undefined : this.actors.of(actor);
  }

  /**
   * An `api.request` event with a generated id, from a middleware's measurements (see
   * client.ts, RECORD). Its id is the 36 bytes at ID_OFFSET.
   */
  request(w: SlabWriter, nowMs: number, type: string, tenant: string, actor: string | undefined, route: string, method: string, status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean, error: string | undefined): number {
    const head = this.head(undefined, type, tenant);
    const r = this.routes.of(route);
    const m = this.methods.of(method);
    const s = statusSegment(status);
    const tail = this.tail(actor);
    const err = error === undefined ? undefined : JSON.stringify(error);
    w.reserve(FIXED_ROOM + head.length + r.length + m.length + s.length + (tail?.length ?? 0) + (err === undefined ? 0 : err.length * 3));
    const buf = w.buf;
    const start = w.pos;
    let pos = put(buf, start, OPEN_ID);
    writeUuidv7(buf, pos, nowMs);
    buf[pos + 36] = QUOTE;
    pos = put(buf, pos + 37, head);
    pos = put(buf, pos, quotedTimeBytes(nowMs));
    pos = put(buf, pos, r);
    pos = put(buf, pos, m);
    pos = put(buf, pos, s);
    pos = putMillis(buf, pos, durationMs);
    pos = put(buf, pos, REQUEST_BYTES);
    pos = putNumber(buf, pos, requestBytes);
    pos = put(buf, pos, RESPONSE_BYTES);
    pos = putNumber(buf, pos, responseBytes);
    if (aborted) pos = put(buf, pos, ABORTED);
    if (err !== undefined) pos = putString(buf, put(buf, pos, ERROR), err);
    if (tail === undefined) pos = put(buf, pos, CLOSE_DATA_AND_EVENT);
    else {
      buf[pos++] = CLOSE;
      pos = put(buf, pos, tail);
    }
    return pos - start;
  }

  /**
   * A tracked event: `id` is written as given (JSON-quoted) unless `generated`, when a new UUIDv7
   * is written instead; `quotedTime` undefined means now; `dataJson` is the serialised
   * properties. Returns the length, or -1 when the event cannot be smaller than `maxBytes`.
   */
  event(w: SlabWriter, maxBytes: number, nowMs: number, id: string | undefined, source: string | undefined, type: string, tenant: string, actor: string | undefined, quotedTime: string | undefined, dataJson: string): number {
    const head = this.head(source, type, tenant);
    const tail = this.tail(actor);
    const qid = id === undefined ? undefined : JSON.stringify(id);
    // Every UTF-16 unit is at least one byte: past this, the event is too big whatever it holds.
    const chars = dataJson.length + (qid?.length ?? 0) + (quotedTime?.length ?? 0);
    if (chars > maxBytes) return -1;
    w.reserve(FIXED_ROOM + head.length + (tail?.length ?? 0) + chars * 3);
    const buf = w.buf;
    const start = w.pos;
    let pos: number;
    if (qid === undefined) {
      pos = put(buf, start, OPEN_ID);
      writeUuidv7(buf, pos, nowMs);
      buf[pos + 36] = QUOTE;
      pos += 37;
    } else {
      pos = putString(buf, put(buf, start, OPEN), qid);
    }
    pos = put(buf, pos, head);
    pos = quotedTime === undefined ? put(buf, pos, quotedTimeBytes(nowMs)) : putString(buf, pos, quotedTime);
    pos = put(buf, pos, DATA);
    pos = putString(buf, pos, dataJson);
    if (tail === undefined) buf[pos++] = CLOSE;
    else pos = put(buf, pos, tail);
    return pos - start;
  }
}
