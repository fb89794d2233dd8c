import http from 'node:http';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { FuzzRequest } from './fuzz-gen.ts';
import { isControl, isLoneSurrogate } from './fuzz-values.ts';

/*
 * The fuzzer's HTTP client (node:http, so paths may hold raw bytes and headers any Latin-1) and
 * the oracle every answer is judged by: no 5xx, and every non-2xx in the registry envelope.
 */

/** An answer, or why there was none. */
export interface FuzzAnswer {
  status: number;
  body: Buffer;
  /** Set when no HTTP answer came (reset, timeout, unparsable). */
  error?: string;
  /** Set when the client library refused the request (a generator bug, not a server finding). */
  clientRefused?: string;
}

/** Sends one generated request to `base` (host:port). */
export function send(base: URL, agent: http.Agent, req: FuzzRequest, timeoutMs: number): Promise<FuzzAnswer> {
  if (req.raw) return sendRaw(base, req.raw, timeoutMs);
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: FuzzAnswer) => {
      if (!settled) {
        settled = true;
        resolve(a);
      }
    };
    let cr: http.ClientRequest;
    try {
      const headers: Record<string, string> = { ...req.headers };
      if (req.body && !req.chunked) headers['content-length'] = String(req.body.length);
      cr = http.request({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent, setHost: true });
    } catch (err) {
      done({ status: 0, body: Buffer.alloc(0), clientRefused: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      done({ status: 0, body: Buffer.alloc(0), error: `no answer within ${timeoutMs} ms` });
      cr.destroy();
    }, timeoutMs);
    cr.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), error: `answer cut: ${err.message}` });
      });
    });
    cr.on('error', (err) => {
      clearTimeout(timer);
      done({ status: 0, body: Buffer.alloc(0), error: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() });
    });
    if (req.body) {
      if (req.chunked) {
        // Two chunks, so the body really is chunked on the wire.
        const mid = Math.floor(req.body.length / 2);
        cr.write(req.body.subarray(0, mid));
        cr.end(req.body.subarray(mid));
      } else cr.end(req.body);
    } else cr.end();
  });
}

/** Writes raw bytes to a new socket and parses whatever comes back until the server closes it. */
function sendRaw(base: URL, bytes: Buffer, timeoutMs: number): Promise<FuzzAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: base.hostname, port: Number(base.port) });
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const a = parseRawAnswer(all);
      resolve(a ?? { status: 0, body: all, error: error ?? (all.length ? `unparsable answer: ${JSON.stringify(all.subarray(0, 200).toString('latin1'))}` : 'connection closed without an answer') });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // A complete answer with a Content-Length: no need to wait for the close.
      const a = parseRawAnswer(Buffer.concat(chunks));
      if (a && a.complete) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim()));
  });
}

/** The first HTTP answer in `buf` (status, body by Content-Length, chunked or up to the end). */
function parseRawAnswer(buf: Buffer): (FuzzAnswer & { complete: boolean }) | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!m) return undefined;
  const headers = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  let body = buf.subarray(end + 4);
  let complete = false;
  const len = headers.get('content-length');
  if (len !== undefined) {
    complete = body.length >= Number(len);
    body = body.subarray(0, Number(len));
  } else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf('\r\n', at);
      if (nl < 0) break;
      const size = parseInt(body.subarray(at, nl).toString('latin1'), 16);
      if (!(size >= 0) || nl + 2 + size > body.length) break;
      if (size === 0) {
        complete = true;
        break;
      }
      out.push(body.subarray(nl + 2, nl + 2 + size));
      at = nl + 4 + size;
    }
    body = Buffer.concat(out);
  }
  return { status: Number(m[1]), body, complete };
}

/** What is wrong with an answer, or undefined when it passes the oracle. */
export function judge(a: FuzzAnswer, codes: Readonly<Record<string, { status: number }>>): string | undefined {
  if (a.clientRefused) return undefined;
  if (a.error) return `no HTTP answer (${a.error})`;
  const problems: string[] = [];
  if (a.status >= 500) problems.push(`status ${a.status} ≥ 500`);
  if (a.status >= 200 && a.status < 300) return problems[0];
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const err = (parsed as { error?: unknown } | undefined)?.error as { code?: unknown; message?: unknown; requestId?: unknown } | undefined;
  if (parsed === null || typeof parsed !== 'object' || err === null || typeof err !== 'object') problems.push('not in the error envelope { "error": { "code", "message", "requestId" } }');
  else {
    if (typeof err.code !== 'string' || !Object.hasOwn(codes, err.code)) problems.push(`error.code ${JSON.stringify(err.code)} is not in the registry`);
    else if (codes[err.code]!.status !== a.status) problems.push(`status ${a.status} but the registry gives ${err.code} status ${codes[err.code]!.status}`);
    if (typeof err.message !== 'string' || err.message.length === 0) problems.push('error.message is not a non-empty string');
    if (typeof err.requestId !== 'string' || err.requestId.length === 0) problems.push('error.requestId is not a non-empty string');
  }
  return problems.length ? problems.join('; ') : undefined;
}

/** The error code of an answer in the envelope, if any. */
export function codeOf(a: FuzzAnswer): string | undefined {
  try {
    const code = (JSON.parse(a.body.toString('utf8')) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A readable preview of a string, at most `max` characters: controls, NUL, lone surrogates, U+FFFD,
 * BOM and other invisible characters as \uXXXX escapes, the rest as is.
 */
export function preview(s: string, max: number): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  let shown = '';
  for (const ch of cut) {
    const code = ch.charCodeAt(0);
    const invisible = isControl(code) || isLoneSurrogate(ch) || code === 0xad || (code >= 0x200b && code <= 0x200f) || (code >= 0x2028 && code <= 0x202e) || code === 0xfeff || code === 0xfffd;
    shown += invisible ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  return shown + (s.length > max ? `…(+${s.length - max} chars)` : '');
}

/** A request as a reproduction: method, path, headers (tokens named, not shown), body (gunzipped when it can be). */
export function describeRequest(req: FuzzRequest, tokenNames: ReadonlyMap<string, string>): string {
  const hide = (v: string) => [...tokenNames].reduce((s, [tok, name]) => s.split(Buffer.from(`${tok}:`).toString('base64')).join(`base64(${name}:)`).split(tok).join(name), v);
  if (req.raw) return `raw socket bytes: ${preview(hide(req.raw.toString('latin1')), 400)}`;
  const lines = [`${req.method} ${preview(req.path, 300)}`];
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, preview(hide(v), 120)]));
  lines.push(`headers: ${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join(', ') || '(none)'}${req.chunked ? ' (body chunked)' : ''}`);
  if (req.body) {
    let text = req.body.toString('utf8');
    let note = `${req.body.length} bytes`;
    if (/gzip/i.test(req.headers['content-encoding'] ?? '')) {
      try {
        text = gunzipSync(req.body, { maxOutputLength: 1 << 24 }).toString('utf8');
        note += `, gzip of ${Buffer.byteLength(text)} bytes`;
      } catch {
        text = req.body.subarray(0, 64).toString('hex');
        note += ', not valid gzip; hex';
      }
    }
    lines.push(`body (${note}): ${preview(text, 700)}`);
  }
  return lines.join('\n    ');
}
