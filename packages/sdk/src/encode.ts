/**
 * Cheap event serialisation. An event is built as one string from pre-serialised fixed parts and
 * cached quoted values (type, tenant, source and actor repeat from event to event), so the only
 * per-event JSON work is `JSON.stringify(properties)`. The string is then written straight into a
 * shared byte slab (see {@link SlabWriter}) and dropped: queued events hold no JS strings, so a
 * full queue costs the garbage collector nothing to scan or copy.
 */

/** The JSON string literal of `s`, remembering the last one (values repeat from event to event). */
export class Quoted {
  private key: string | undefined;
  private value = '""';

  of(s: string): string {
    if (s !== this.key) {
      this.value = JSON.stringify(s);
      this.key = s;
    }
    return this.value;
  }
}

/** Quoted values of a bounded set of strings (route templates, methods): a Map, then plain quoting. */
export class QuotedSet {
  private readonly cache = new Map<string, string>();

  constructor(private readonly max = 1024) {}

  of(s: string): string {
    let q = this.cache.get(s);
    if (q === undefined) {
      q = JSON.stringify(s);
      if (this.cache.size < this.max) this.cache.set(s, q);
    }
    return q;
  }
}

let cachedMs = -1;
let cachedTime = '';

/** `"<RFC 3339 time of ms>"`; consecutive events in the same millisecond reuse one string. */
export function quotedIsoOf(ms: number): string {
  if (ms !== cachedMs) {
    cachedTime = '"' + new Date(ms).toISOString() + '"';
    cachedMs = ms;
  }
  return cachedTime;
}

/** Three-digit fractions, so a duration is formatted without float-to-string conversion. */
const FRACTION = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** A non-negative millisecond duration as a JSON number with microsecond precision (`12.345`). */
export function millisJson(ms: number): string {
  if (!(ms >= 0) || ms > 1e12) return ms > 1e12 ? String(Math.round(ms)) : '0';
  const us = Math.round(ms * 1000);
  const whole = Math.floor(us / 1000);
  return whole + '.' + (FRACTION[us - whole * 1000] as string);
}

/** A finite number as JSON (0 for NaN / ±Infinity, which JSON cannot carry). */
export const numberJson = (n: number): string | number => (Number.isFinite(n) ? n : 0);

/**
 * The fixed parts of a CloudEvent. `id` comes first so that it is easy to find; field order does
 * not matter to any JSON reader.
 */
export const CE = {
  open: '{"id":',
  source: ',"specversion":"1.0","source":',
  type: ',"type":',
  subject: ',"subject":',
  time: ',"time":',
  data: ',"datacontenttype":"application/json","data":',
  actor: ',"actor":',
  close: '}',
} as const;

/** Separator written after every event in a slab: events of one slab are a ready-made JSON list. */
export const SEPARATOR = ',\n';
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const SLAB_BYTES = 64 * 1024;

/**
 * Appends serialised events to 64 KiB byte slabs, each followed by `,\n`. A slab is retired (left
 * to the GC once no queued event points into it) when the next event does not fit. Writing is
 * two-phase: `write`, then `commit` only if the event is kept.
 */
export class SlabWriter {
  buf: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  pos = 0;

  /** Makes room for up to `maxBytes` (+ separator) at `pos`, moving to a new slab if needed. */
  reserve(maxBytes: number): void {
    if (this.pos + maxBytes + 2 <= this.buf.length) return;
    this.buf = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, maxBytes + 2));
    this.pos = 0;
  }

  /** Writes `s` (at most `3 × s.length` bytes) at `pos` without committing; returns its byte length. */
  write(s: string): number {
    this.reserve(s.length * 3);
    return this.buf.write(s, this.pos);
  }

  /** Keeps the `len` bytes just written (and their separator); returns their offset. */
  commit(len: number): number {
    const off = this.pos;
    this.buf[off + len] = COMMA;
    this.buf[off + len + 1] = NEWLINE;
    this.pos = off + len + 2;
    return off;
  }
}

const routeNames = new QuotedSet();
const methodNames = new QuotedSet(64);

/** `"0xx"` … `"5xx"` as JSON strings, made once (a status of 600 or more is formatted on the spot). */
const STATUS_CLASS_JSON = ['"0xx"', '"1xx"', '"2xx"', '"3xx"', '"4xx"', '"5xx"'];

/**
 * The status class of an HTTP status (`404` → `"4xx"`). The middleware sends it beside `status`
 * because meters group by it (the shipped `api_requests` meter groups by `$.statusClass`): a
 * dimension with 5 values instead of ~60, and the same field the demo traffic carries.
 */
export function statusClassOf(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/**
 * The `data` of an `api.request` event as a string: route, method, status, statusClass,
 * durationMs (microsecond precision), request and response bytes, and `aborted` / `error` when
 * set. The client writes these bytes directly (bytes.ts); this string form is the reference that
 * bytes.test.ts checks it against.
 */
export function requestDataJson(route: string, method: string, status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean, error: string | undefined): string {
  return (
    '{"route":' +
    routeNames.of(route) +
    ',"method":' +
    methodNames.of(method) +
    ',"status":' +
    numberJson(status) +
    ',"statusClass":' +
    (STATUS_CLASS_JSON[Math.floor(status / 100)] ?? JSON.stringify(statusClassOf(status))) +
    ',"durationMs":' +
    millisJson(durationMs) +
    ',"requestBytes":' +
    numberJson(requestBytes) +
    ',"responseBytes":' +
    numberJson(responseBytes) +
    (aborted ? ',"aborted":true' : '') +
    (error === undefined ? '}' : ',"error":' + JSON.stringify(error) + '}')
  );
}
