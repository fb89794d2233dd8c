import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TallyClient } from '../client.ts';

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
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  /** The connection closed before the response was complete. */
  aborted?: boolean;
  /** The handler threw (plain node:http only; frameworks turn throws into 5xx responses). */
  error?: string;
};

/**
 * Records one `api.request` event. Runs after the response was handed to the socket, and never
 * throws: a failing resolver costs the event (counted as an invalid drop), not the request.
 */
export function recordRequest<Req>(o: RequestTrackingOptions<Req>, req: Req, m: RequestMeasure): void {
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
  o.client.track({ type: o.eventType ?? 'api.request', tenant: tenant as string, actor, properties: extra ? { ...extra, ...m } : m });
}

/** Bytes in a chunk given to write()/end(). */
function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return (chunk as { byteLength?: number } | null)?.byteLength ?? 0;
}

/**
 * Measures a request at the node:http level: duration, body bytes in (Content-Length, or counted
 * as the parser pushes a chunked body, whoever consumes it) and out (counted in write()/end()),
 * and calls `done` once when the response is finished or the connection closed.
 */
export function measure(req: IncomingMessage, res: ServerResponse, done: (status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean) => void): void {
  const start = performance.now();
  let inBytes = Number(req.headers['content-length'] ?? 0) || 0;
  if (req.headers['transfer-encoding'] !== undefined) {
    const push = req.push;
    req.push = function (chunk: unknown, encoding?: BufferEncoding) {
      inBytes += sizeOf(chunk, encoding);
      return push.call(this, chunk, encoding);
    };
  }
  let outBytes = 0;
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    outBytes += sizeOf(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') outBytes += sizeOf(chunk, rest[0]);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  res.once('close', () => {
    // HEAD, 204 and 304 answers carry no body whatever the handler passed to end().
    const bodyless = req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
    done(res.statusCode, performance.now() - start, inBytes, bodyless ? 0 : outBytes, !res.writableFinished);
  });
}
