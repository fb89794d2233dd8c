import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { RequestTrackingOptions } from './record.ts';
import { measure, recordRequest, UNMATCHED } from './record.ts';

/**
 * Fastify 5 plugin recording one `api.request` per request, for the whole instance (it skips
 * Fastify's encapsulation like fastify-plugin would). The route is `request.routeOptions.url`,
 * the template; the 404 handler's requests get the unmatched label.
 */
export function tallyFastify(options: RequestTrackingOptions<FastifyRequest>): FastifyPluginCallback {
  const unmatched = options.unmatchedRoute ?? UNMATCHED;
  const plugin = (fastify: FastifyInstance, _opts: unknown, done: (err?: Error) => void) => {
    fastify.addHook('onRequest', (request, reply, hookDone) => {
      measure(request.raw, reply.raw, (status, durationMs, requestBytes, responseBytes, aborted) => {
        const route = request.is404 ? unmatched : (request.routeOptions.url ?? unmatched);
        recordRequest(options, request, { route, method: request.method, status, durationMs, requestBytes, responseBytes, ...(aborted ? { aborted } : {}) });
      });
      hookDone();
    });
    done();
  };
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@tally/sdk' });
  return plugin;
}
