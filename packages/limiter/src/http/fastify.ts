import { decideFor } from './middleware-options.ts';
import type { MiddlewareOptions } from './middleware-options.ts';
import { httpOutcome, PROBLEM_JSON } from './respond.ts';

/** The parts of a Fastify 5 request the hook reads. */
export interface FastifyLikeRequest {
  ip: string;
}
/** The parts of a Fastify 5 reply the hook writes. */
export interface FastifyLikeReply {
  header(name: string, value: string): unknown;
  code(code: number): unknown;
  type(type: string): unknown;
  send(body: string): unknown;
}

/**
 * Fastify 5 `onRequest` hook: `app.addHook('onRequest', fastifyRateLimit({ limiter }))`.
 * Sets rate-limit headers and answers 429/503 problem+json when rejected.
 */
export function fastifyRateLimit<Req extends FastifyLikeRequest>(options: MiddlewareOptions<Req>) {
  const policies = options.limiter.defaultPolicies;
  return async (request: Req, reply: FastifyLikeReply): Promise<void> => {
    const decision = await decideFor(options, request, (r) => r.ip);
    if (decision === undefined) return;
    const outcome = httpOutcome(decision, policies);
    for (const [k, v] of Object.entries(outcome.headers)) reply.header(k, v);
    if (outcome.proceed) return;
    reply.code(outcome.status);
    reply.type(PROBLEM_JSON);
    await reply.send(JSON.stringify(outcome.body));
  };
}
