import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { RequestTrackingOptions } from './record.ts';
import { measure, record, UNMATCHED } from './record.ts';

/**
 * The route template a request matched: the last matched route registered as a handler (arity < 2),
 * not a middleware (`app.use`, arity 2). Hono has routed before any middleware runs, so this holds
 * even when a middleware answered early (e.g. 401).
 */
function templateOf(c: Context, unmatched: string): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && r.handler.length < 2) return r.path;
  }
  return unmatched;
}

/**
 * Hono 4 middleware recording one `api.request` per request; register it first with
 * `app.use('*', tallyHono(...))`. On @hono/node-server bytes are counted on the wire; elsewhere
 * they come from Content-Length headers (0 when absent).
 */
export function tallyHono(options: RequestTrackingOptions<Context>): MiddlewareHandler {
  const unmatched = options.unmatchedRoute ?? UNMATCHED;
  return async (c, next) => {
    const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
    if (env?.incoming && env.outgoing) {
      measure(env.incoming, env.outgoing, (status, durationMs, requestBytes, responseBytes, aborted) => {
        record(options, c, templateOf(c, unmatched), c.req.method, status, durationMs, requestBytes, responseBytes, aborted, undefined);
      });
      return next();
    }
    const start = performance.now();
    await next();
    const bytes = (h: string | null | undefined) => Number(h ?? 0) || 0;
    record(options, c, templateOf(c, unmatched), c.req.method, c.res.status, performance.now() - start, bytes(c.req.header('content-length')), bytes(c.res.headers.get('content-length')), false, undefined);
  };
}
