import { ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RecordFn, TallyClient } from '../client.ts';
import { RECORD } from '../client.ts';
import { statusClassOf } from '../encode.ts';

/** The label recorded for requests that matched no route, so raw paths never become dimensions. */
export const UNMATCHED = '(unmatched)';

/** Options shared by every middleware; `Req` is the framework's request (or context) type. */
export interface RequestTrackingOptions<Req> {
  client: TallyClient;
  /** The billing tenant of a request, resolved when it ends (after auth ran); undefined: not recorded. */
  tenant: (req: Req) => string | undefined;
  /** The end user, if any (hashed by the server). */
  actor?: (req: Req) => string | undefined;
  /** Extra low-cardinality properties to record (merged under the standard ones). */
  properties?: (req: Req) => Record<string, unknown> | undefined;
  /** Event type. Default `api.request`. */
  eventType?: string;
  /** Route label for requests no route matched. Default `(unmatched)`. */
  unmatchedRoute?: string;
}

/** What was measured about one request. */
export type RequestMeasure = {
  route: string;
  method: string;
  status: number;
  /** `"2xx"`, `"4xx"`, `"5xx"`…: derived from `status` when recorded (what meters group by). */
  statusClass?: string;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  /** The connection closed before the response was complete. */
  aborted?: boolean;
  /** The handler threw (plain node:http only; frameworks turn throws into 5xx responses). */
  error?: string;
};

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Records one `api.request` event. Runs after the response was handed to the socket, and never
 * throws: a failing resolver costs the event (counted as an invalid drop), not the request.
 * Without a `properties` option the measurements go to the client's fast path, which stores them
 * as they are and serialises a whole batch of them later in one tight loop (see client.ts).
 */
export function record<Req>(o: RequestTrackingOptions<Req>, req: Req, route: string, method: string, status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean, error: string | undefined): void {
  let tenant: string | undefined;
  let actor: string | undefined;
  let extra: Record<string, unknown> | undefined;
  try {
    tenant = o.tenant(req);
    if (tenant === undefined) return;
    actor = o.actor?.(req);
    extra = o.properties?.(req);
  } catch (err) {
    tenant = undefined; // track() counts and reports the event as invalid rather than losing it silently
    extra = { resolverError: err instanceof Error ? err.message : String(err) };
  }
  const fast = (o.client as { [RECORD]?: RecordFn })[RECORD];
  if (extra === undefined && fast !== undefined && isName(tenant) && (actor === undefined || isName(actor))) {
    fast.call(o.client, o.eventType ?? 'api.request', tenant, actor, route, method, status, durationMs, requestBytes, responseBytes, aborted, error);
    return;
  }
  const m: RequestMeasure = { route, method, status, statusClass: statusClassOf(status), durationMs, requestBytes, responseBytes };
  if (aborted) m.aborted = true;
  if (error !== undefined) m.error = error;
  o.client.track({ type: o.eventType ?? 'api.request', tenant: tenant as string, actor, properties: extra ? { ...extra, ...m } : m });
}

/** Records one `api.request` event from a measure object (see {@link record}). */
export function recordRequest<Req>(o: RequestTrackingOptions<Req>, req: Req, m: RequestMeasure): void {
  record(o, req, m.route, m.method, m.status, m.durationMs, m.requestBytes, m.responseBytes, m.aborted === true, m.error);
}

/** Bytes in a chunk given to write()/end(). */
function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as { byteLength?: number } | null)?.byteLength ?? 0;
}

const kMeasure = Symbol('tally.measure');
const kPush = Symbol('tally.push');

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse;
type Measured = ServerResponse & { [kMeasure]?: Measurement<unknown> };

/**
 * What is measured about one request, filled in when its response closes. One object per request:
 * the write/end wrappers and the close listener are shared functions that find it on the response.
 */
export class Measurement<C> {
  status = 0;
  durationMs = 0;
  /** Request body bytes: Content-Length, or counted as the parser pushes a chunked body. */
  requestBytes: number;
  /** Response body bytes written (0 for HEAD, 204 and 304). */
  responseBytes = 0;
  /** The connection closed before the response was complete. */
  aborted = false;
  private readonly start = performance.now();
  private done = false;

  constructor(
    readonly req: IncomingMessage,
    /** Framework context handed back to `onDone` (e.g. the Fastify request). */
    readonly ctx: C,
    readonly onDone: (m: Measurement<C>) => void,
    readonly write: Write,
    readonly end: End,
  ) {
    this.requestBytes = Number(req.headers['content-length'] ?? 0) || 0;
  }

  /** Called once, when the response closes. */
  finish(res: ServerResponse): void {
    if (this.done) return;
    this.done = true;
    this.status = res.statusCode;
    this.durationMs = performance.now() - this.start;
    // HEAD, 204 and 304 answers carry no body whatever the handler passed to end().
    if (this.req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) this.responseBytes = 0;
    this.aborted = !res.writableFinished;
    this.onDone(this);
  }
}

const protoWrite = ServerResponse.prototype.write as unknown as Write;
const protoEnd = ServerResponse.prototype.end as unknown as End;

function countingWrite(this: Measured, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  const m = this[kMeasure];
  if (m === undefined) return protoWrite.call(this, chunk, encoding, cb);
  m.responseBytes += sizeOf(chunk, encoding);
  return m.write.call(this, chunk, encoding, cb);
}

function countingEnd(this: Measured, chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
  const m = this[kMeasure];
  if (m === undefined) return protoEnd.call(this, chunk, encoding, cb);
  if (typeof chunk !== 'function') m.responseBytes += sizeOf(chunk, encoding);
  return m.end.call(this, chunk, encoding, cb);
}

function onClose(this: Measured): void {
  this[kMeasure]?.finish(this);
}

function countingPush(this: IncomingMessage & { [kMeasure]?: Measurement<unknown>; [kPush]?: IncomingMessage['push'] }, chunk: unknown, encoding?: BufferEncoding): boolean {
  const m = this[kMeasure];
  if (m !== undefined) m.requestBytes += sizeOf(chunk, encoding);
  return (this[kPush] as IncomingMessage['push']).call(this, chunk, encoding);
}
/**
 * Measures a request at the node:http level: duration, body bytes in (Content-Length, or counted
 * as the parser pushes a chunked body, whoever consumes it) and out (counted in write()/end()),
 * and calls `onDone(measurement)` once when the response is finished or the connection closed.
 * Costs one object per request; the wrappers and listener are shared.
 */
export function measureRequest<C>(req: IncomingMessage, res: ServerResponse, ctx: C, onDone: (m: Measurement<C>) => void): void {
  const r = res as Measured;
  const m = new Measurement<C>(req, ctx, onDone, res.write as unknown as Write, res.end as unknown as End);
  r[kMeasure] = m as Measurement<unknown>;
  if (req.headers['transfer-encoding'] !== undefined) {
    const q = req as IncomingMessage & { [kMeasure]?: Measurement<unknown>; [kPush]?: IncomingMessage['push'] };
    q[kMeasure] = m as Measurement<unknown>;
    q[kPush] = req.push;
    req.push = countingPush;
  }
  res.write = countingWrite as unknown as ServerResponse['write'];
  res.end = countingEnd as unknown as ServerResponse['end'];
  res.on('close', onClose);
}

/**
 * Like {@link measureRequest}, with a callback per request (for middleware that needs a closure
 * anyway): `done(status, durationMs, requestBytes, responseBytes, aborted)`.
 */
export function measure(req: IncomingMessage, res: ServerResponse, done: (status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean) => void): void {
  measureRequest(req, res, done, callDone);
}

function callDone(m: Measurement<(status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean) => void>): void {
  m.ctx(m.status, m.durationMs, m.requestBytes, m.responseBytes, m.aborted);
}
