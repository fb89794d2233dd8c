/*
 * Value generators of the black-box fuzzer (test/fuzz.test.ts): a seeded PRNG, hostile strings,
 * quantities at range edges, event times, JSON with raw fragments (deep nesting, duplicate keys,
 * number literals JSON.stringify cannot write, invalid UTF-8 bytes) and URL encodings.
 */

/** mulberry32: small, fast and seeded. The fuzzer makes one per request (see {@link requestSeed}). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** 0 ≤ n < max. */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  /** lo ≤ n ≤ hi. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** One of the choices, each as likely as its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let x = this.next() * choices.reduce((s, [w]) => s + w, 0);
    for (const [w, v] of choices) if ((x -= w) < 0) return v;
    return choices[choices.length - 1]![1];
  }
}

/** The seed of request `index`: request i is the same whatever ran before it, so it replays alone. */
export function requestSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `unit` repeated to exactly n UTF-16 code units (a cut astral character leaves a lone surrogate). */
export const long = (n: number, unit = 'x'): string => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

/** Strings a hostile client sends: encodings, SQL and CSV syntax, reserved namespaces, prototype keys. */
export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', ' padded ', 'a', '0', '-1', 'null', 'undefined', 'true', '[]', '{}', 'NaN', 'Infinity',
  '\ud800', '\udfff', '\udc00', 'q\ud800', 'q\udfff', '\ud800\ud800', '\udfff\ud800', '\ufffd', '\ud83d\ude00', '\ud83d', 'x\ud83d',
  '\u0000', 'a\u0000b', '\u0000\u0000', '\u0001', '\u0007', '\u001b[31mred', '\b\f', '\r\n', 'line\nbreak', '\t', '\u007f', '\u0085', '\u2028\u2029',
  '"', "'", '\\', '\\\\', "\\'", '\\"', "a'b", 'a"b', "''", '`', "'; DROP TABLE events; --", "' OR '1'='1", "x' --", '--', '-- c', ';', '/*', '*/', '%', '_', '%_%', '$1', '?', "E'\\x00'",
  '=HYPERLINK("http://evil.example","click")', '=1+2', '+1', '-1+1', '@SUM(1)', '\t=1', '\r=1', "=cmd|' /C calc'!A0",
  'tally.quota.warning', 'tally.', 'tally.anything', 'tally/quota', 'tally/', 'tally/x',
  'ünïcødé', '日本語テキスト', 'Ελληνικά', 'עברית', '\u202eevil', 'zero\u200bwidth', '\ufeffbom', 'e\u0301', 'ﬁ', 'ß', 'İ', '𝕏',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
  '../../etc/passwd', '..', '.', '/', '//', '%00', '%ff', '%2e%2e%2f', '${env}', '{{7*7}}', '<script>alert(1)</script>', '%s%s%n',
  '1e26', '0x1F', ' 1 ', '١٢٣',
];

/** A hostile string any identifier rule should still accept: quotes, SQL and CSV syntax, unicode; no controls, NUL or lone surrogates. */
export const WELL_FORMED_HOSTILE: readonly string[] = HOSTILE_STRINGS.filter((x) => x.trim().length > 0 && x.length < 100 && [...x].every((ch) => !isControl(ch.charCodeAt(0)) && !isLoneSurrogate(ch)));

/** C0 and C1 control characters and DEL. */
export function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** A string iterator's element that is a lone surrogate (a pair is one two-unit element). */
export function isLoneSurrogate(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return ch.length === 1 && code >= 0xd800 && code <= 0xdfff;
}

/** Random UTF-16 code units: printable, control, Latin-1, BMP, lone surrogates and pairs. */
export function codeUnits(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = r.int(8);
    if (c < 2) s += String.fromCharCode(r.between(0x20, 0x7e));
    else if (c === 2) s += String.fromCharCode(r.pick([r.between(0, 0x1f), 0x7f, r.between(0x80, 0x9f)]));
    else if (c === 3) s += String.fromCharCode(r.between(0xa0, 0xff));
    else if (c === 4) s += String.fromCharCode(r.between(0x100, 0xd7ff));
    else if (c === 5) s += String.fromCharCode(r.between(0xd800, 0xdfff));
    else if (c === 6) s += String.fromCodePoint(r.between(0x10000, 0x10ffff));
    else s += String.fromCharCode(r.between(0xe000, 0xffff));
  }
  return s;
}

/** A hostile string: from the list, combined, random code units, at length bounds, or plain. */
export function hostile(r: Rng): string {
  switch (r.int(10)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return r.pick(HOSTILE_STRINGS);
    case 4:
      return r.pick(HOSTILE_STRINGS) + r.pick(HOSTILE_STRINGS);
    case 5:
      return `fz-${r.pick(HOSTILE_STRINGS)}-${r.int(100)}`;
    case 6:
      return codeUnits(r, r.between(1, 12));
    case 7:
      return long(r.pick([63, 64, 100, 101, 199, 200, 201, 255, 256, 257, 512, 513, 1024, 1025, 4096, 20_000]), r.pick(['x', 'é', '\ud800', '🙂', '\u0000', "'", '日']));
    default:
      return `fz${r.int(1_000_000).toString(36)}`;
  }
}

/** Sets an own property, even `__proto__` (which plain assignment would make the prototype). */
export function put(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A raw JSON fragment spliced in place of a value by {@link jsonBytes}. */
export class Raw {
  constructor(readonly bytes: Buffer) {}
}
export const raw = (text: string | Buffer): Raw => new Raw(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

/** JSON of a value with its {@link Raw} fragments spliced in (they may make it invalid on purpose). */
export function jsonBytes(value: unknown): Buffer {
  const frags: Buffer[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => (v instanceof Raw ? `@@fuzzraw#${frags.push(v.bytes) - 1}@@` : v)) ?? 'null';
  if (frags.length === 0) return Buffer.from(text, 'utf8');
  const parts = text.split(/"@@fuzzraw#(\d+)@@"/);
  return Buffer.concat(parts.map((p, i) => (i % 2 === 1 ? frags[Number(p)]! : Buffer.from(p, 'utf8'))));
}

/** Deeply nested JSON (objects or arrays). */
export function deep(r: Rng, depth = r.pick([64, 500, 2_000, 10_000, 100_000])): Raw {
  return r.chance(0.5) ? raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)) : raw('['.repeat(depth) + ']'.repeat(depth));
}

/** JSON texts JSON.stringify never writes: huge or overlong number literals, duplicate and prototype keys, invalid UTF-8. */
export const RAW_VALUES: readonly (() => Raw)[] = [
  () => raw('1e400'),
  () => raw('-1e400'),
  () => raw('1.00000000000000000000001'),
  () => raw('123456789012345678901234567890'),
  () => raw('-0.0'),
  () => raw('1E+2'),
  () => raw('0.0000000000001'),
  () => raw('{"route":"/a","route":"/b","bytes":1,"bytes":"2"}'),
  () => raw('{"__proto__":{"polluted":true},"route":"/p","bytes":1,"ms":1}'),
  () => raw('{"constructor":{"prototype":{"polluted":true}},"bytes":1}'),
  () => raw('"\\u0000"'),
  () => raw('"\\ud800"'),
];

/** Bytes that are not valid UTF-8 (or a raw NUL), spliced into a JSON string of a body by the generator. */
export const BAD_BYTES: readonly Buffer[] = [
  Buffer.from([0xff, 0xfe]), // never valid in UTF-8
  Buffer.from([0xed, 0xa0, 0x80]), // a surrogate as CESU-8
  Buffer.from([0xc0, 0xae]), // an overlong "."
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated
  Buffer.from([0x00]), // raw NUL inside a string (JSON forbids it)
];

/** Numbers and strings at and past the quantity limits (|v| < 10^26, at most 12 fractional digits). */
export const QUANTITY_EDGES: readonly unknown[] = [
  0, -0, 1, -1, 0.1, 0.5, 1.5, 1e-12, 1e-13, 1e25, 9.999999999999999e25, 1e26, -1e26, 1e300, 5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 63),
  '0', '-0', '0.1', '0.000000000001', '0.0000000000001', '1.0000000000001', '12345678901234.123456789012', '99999999999999999999999999',
  '99999999999999999999999999.999999999999', '100000000000000000000000000', '-99999999999999999999999999.999999999999', '1e25', '1e26', '1E-12',
  '1e-13', '+1', ' 7 ', '.5', '5.', '', '.', '-', 'NaN', 'nan', 'Infinity', '-Infinity', '0x10', '1_000', '1,5', '١', 'abc', '1e', 'e1',
  '1e999999999', '0.1.2', true, false, null, [], {}, [1], { value: 1 },
];

/** A quantity: mostly small valid values, sometimes an edge. */
export function quantity(r: Rng): unknown {
  const c = r.int(20);
  if (c < 8) return r.int(1000);
  if (c < 11) return `${r.int(1000)}.${r.int(1000)}`;
  if (c < 13) return Number(`${r.int(100)}.${r.int(100)}`);
  if (c < 14) return r.pick(RAW_VALUES.slice(0, 7))();
  return r.pick(QUANTITY_EDGES);
}

/** ISO time `ms` written with a UTC offset of `offsetMin` minutes. */
function withOffset(ms: number, offsetMin: number): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);
  const a = Math.abs(offsetMin);
  return `${local}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** An event time: mostly within the last two days, else edges of the accepted window and malformed. */
export function eventTime(r: Rng, nowMs: number): unknown {
  if (r.chance(0.75)) return new Date(nowMs - r.int(2 * 86_400_000)).toISOString();
  const day = 86_400_000;
  return r.pick<() => unknown>([
    () => new Date(nowMs + 4 * 60_000).toISOString(),
    () => new Date(nowMs + 5 * 60_000 + 1000).toISOString(),
    () => new Date(nowMs + day).toISOString(),
    () => new Date(nowMs - 35 * day + 3_600_000).toISOString(),
    () => new Date(nowMs - 35 * day - 3_600_000).toISOString(),
    () => withOffset(nowMs - 3_600_000, r.pick([840, -720, 345, -59, 1439, -1439])),
    () => new Date(nowMs - 60_000).toISOString().replace('T', 't').replace('Z', 'z'),
    () => new Date(nowMs - 60_000).toISOString().slice(0, 19),
    () => new Date(nowMs - 60_000).toISOString().slice(0, 10),
    () => new Date(nowMs - 60_000).toISOString().replace(/\.\d+Z$/, '.123456789Z'),
    () => new Date(nowMs - 60_000).toISOString().replace(/\.\d+Z$/, '.1234567890123Z'),
    () => new Date(nowMs - 60_000).toISOString().replace(/:\d\d\.\d+Z$/, ':60Z'),
    () => r.pick(['1970-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z']),
    () => r.pick(['', 'now', 'yesterday', ' ', 'Z', 'T']),
    () => r.pick([nowMs, nowMs / 1000, null, true, {}, []]),
    () => hostile(r),
  ])();
}

/** A tenant-free, type-free JSON value of any kind, for wrong-type fields. */
export function anyValue(r: Rng): unknown {
  // Raw fragments are rare: one invalid byte sequence makes the whole body unparsable.
  return r.weighted<() => unknown>([
    [10, () => null],
    [10, () => true],
    [10, () => r.int(1000) - 500],
    [15, () => hostile(r)],
    [10, () => []],
    [10, () => ({})],
    [10, () => [hostile(r), r.int(9)]],
    [10, () => ({ [hostile(r)]: hostile(r) })],
    [10, () => quantity(r)],
    [2, () => r.pick(RAW_VALUES)()],
  ])();
}

const hex = (b: number) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
/** Characters a URL path or query may carry unescaped (RFC 3986 unreserved). */
const UNRESERVED = /[A-Za-z0-9._~-]/;

/**
 * Encodes a string for a URL path segment or query value: correctly (UTF-8, a lone surrogate as
 * U+FFFD as Buffer.from writes it), with surrogates as CESU-8 bytes, as raw Latin-1 bytes
 * (invalid UTF-8 on the wire), double-encoded, or with `+` for spaces.
 */
export function urlEncode(r: Rng, s: string): string {
  const mode = r.int(12);
  if (mode === 0) {
    // Surrogate code units as 3-byte sequences (CESU-8): no valid UTF-8 decoder accepts them.
    let out = '';
    for (const ch of s) {
      const cu = ch.charCodeAt(0);
      if (ch.length === 1 && cu >= 0xd800 && cu <= 0xdfff) out += [0xe0 | (cu >> 12), 0x80 | ((cu >> 6) & 0x3f), 0x80 | (cu & 0x3f)].map(hex).join('');
      else out += utf8(ch);
    }
    return out;
  }
  if (mode === 1) return [...s].map((ch) => (ch.charCodeAt(0) > 0x20 && ch.charCodeAt(0) <= 0xff && !/[%?#&=+/\\\x7f]/.test(ch) ? ch : utf8(ch))).join('');
  if (mode === 2) return utf8(s).replace(/%/g, '%25');
  if (mode === 3) return utf8(s).replace(/%20/g, '+');
  return utf8(s);
}

function utf8(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += UNRESERVED.test(String.fromCharCode(b)) ? String.fromCharCode(b) : hex(b);
  return out;
}

/** Percent sequences no decoder is happy with: NUL, invalid and overlong UTF-8, truncated escapes. */
export const BAD_PERCENT: readonly string[] = ['%00', '%ff', '%FF%FE', '%c0%ae', '%e0%80%80', '%ed%a0%80', '%f4%90%80%80', '%', '%z', '%0', '%%', '%2500', 'a%00b', '%u0041', '%C0%80'];
