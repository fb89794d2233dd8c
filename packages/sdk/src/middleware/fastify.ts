import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { Measurement, RequestTrackingOptions } from './record.ts';
import { measureRequest, record, UNMATCHED } from './record.ts';

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
    const route = request.is404 ? unmatched : (request.routeOptions.url ?? unmatched);
    record(options, request, route, request.method, m.status, m.durationMs, m.requestBytes, m.responseBytes, m.aborted, undefined);
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
