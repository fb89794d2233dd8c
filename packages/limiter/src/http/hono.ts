import { decideFor } from './middleware-options.ts';
import type { MiddlewareOptions } from './middleware-options.ts';
import { httpOutcome, PROBLEM_JSON } from './respond.ts';

/** The parts of a Hono 4 context the middleware uses. */
export interface HonoLikeContext {
  req: { header(name: string): string | undefined };
  header(name: string, value: string): void;
}

/**
 * Hono 4 middleware: `app.use(honoRateLimit({ limiter, key }))`. Hono has no portable client IP,
 * so the default key is the first `X-Forwarded-For` hop; pass `key` for anything else.
 */
export function honoRateLimit<C extends HonoLikeContext>(options: MiddlewareOptions<C>) {
  const policies = options.limiter.defaultPolicies;
  const defaultKey = (c: C) => c.req.header('x-forwarded-for')?.split(',')[0]?.trim() ?? 'unknown';
  return async (c: C, next: () => Promise<void>): Promise<Response | undefined> => {
    const decision = await decideFor(options, c, defaultKey);
    if (decision === undefined) {
      await next();
      return undefined;
    }
    const outcome = httpOutcome(decision, policies);
    if (!outcome.proceed) {
      return new Response(JSON.stringify(outcome.body), { status: outcome.status, headers: { ...outcome.headers, 'Content-Type': PROBLEM_JSON } });
    }
    for (const [k, v] of Object.entries(outcome.headers)) c.header(k, v);
    await next();
    return undefined;
  };
}
