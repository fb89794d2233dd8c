import { decideFor } from './middleware-options.ts';
import type { MiddlewareOptions } from './middleware-options.ts';
import { httpOutcome, PROBLEM_JSON } from './respond.ts';

/** The parts of an Express 5 request the middleware reads. */
export interface ExpressLikeRequest {
  ip?: string | undefined;
}
/** The parts of an Express 5 response the middleware writes. */
export interface ExpressLikeResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): ExpressLikeResponse;
  type(type: string): ExpressLikeResponse;
  send(body: string): unknown;
}

/** Express 5 middleware: sets rate-limit headers, answers 429/503 problem+json when rejected. */
export function expressRateLimit<Req extends ExpressLikeRequest>(options: MiddlewareOptions<Req>) {
  const policies = options.limiter.defaultPolicies;
  return async (req: Req, res: ExpressLikeResponse, next: () => void): Promise<void> => {
    const decision = await decideFor(options, req, (r) => r.ip ?? 'unknown');
    if (decision === undefined) return next();
    const outcome = httpOutcome(decision, policies);
    for (const [k, v] of Object.entries(outcome.headers)) res.setHeader(k, v);
    if (outcome.proceed) return next();
    res.status(outcome.status).type(PROBLEM_JSON).send(JSON.stringify(outcome.body));
  };
}
