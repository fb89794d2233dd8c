import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { Measurement, RequestTrackingOptions } from './record.ts';
import { measureRequest, record, UNMATCHED } from './record.ts';

type WithContext = FastifyRequest & Record<symbol, { config?: { url?: unknown } } | undefined>;

/**
 * The symbol under which Fastify keeps a request's route context (private, so found by its
 * description and checked against the public API once); null when not found.
 */
let contextKey: symbol | null | undefined;

function findContextKey(request: FastifyRequest): symbol | null {
  const key = Object.getOwnPropertySymbols(request).find((s) => s.description === 'fastify.context');
  if (key === undefined) return null;
  const url = (request as WithContext)[key]?.config?.url;
  // Trust it only if it says what the public getters say for this request.
  return url === (request.is404 ? undefined : request.routeOptions.url) ? key : null;
}

/**
 * The route template of a request, or `unmatched` for the 404 handler. Fastify's public
 * `routeOptions` getter builds a new 12-field object on every call (with a constraint-strategy
 * lookup); the template is one field of the context it reads it from, so read that.
 */
function routeOf(request: FastifyRequest, unmatched: string): string {
  if (contextKey === undefined) contextKey = findContextKey(request);
  if (contextKey === null) return request.is404 ? unmatched : (request.routeOptions.url ?? unmatched);
  const url = (request as WithContext)[contextKey]?.config?.url;
  return typeof url === 'string' ? url : unmatched;
}

/**
 * Fastify 5 plugin recording one `api.request` per request, for the whole instance (it skips
 * Fastify's encapsulation like fastify-plugin would). The route is `request.routeOptions.url`,
 * the template; the 404 handler's requests get the unmatched label. Per request it costs one
 * `onRequest` hook call and one measurement object; no closures.
 */
export function tallyFastify(options: RequestTrackingOptions<FastifyRequest>): FastifyPluginCallback {
  const unmatched = options.unmatchedRoute ?? UNMATCHED;
  const onDone = (m: Measurement<FastifyRequest>) => {
    const request = m.ctx;
    record(options, request, routeOf(request, unmatched), request.method, m.status, m.durationMs, m.requestBytes, m.responseBytes, m.aborted, undefined);
  };
  const plugin = (fastify: FastifyInstance, _opts: unknown, done: (err?: Error) => void) => {
    fastify.addHook('onRequest', (request, reply, hookDone) => {
      measureRequest(request.raw, reply.raw, request, onDone);
      hookDone();
    });
    done();
  };
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@tally/sdk' });
  return plugin;
}
