import type { Decision } from '../decision.ts';
import type { Policy } from '../types.ts';

/** Anything that limits by key: {@link Limiter} or {@link HybridLimiter}. */
export interface RateLimitSource {
  limit(key: string, options?: { cost?: number }): Promise<Decision>;
  readonly defaultPolicies: readonly Policy[];
}

/** Options shared by the Express, Fastify and Hono middleware. */
export interface MiddlewareOptions<Req> {
  limiter: RateLimitSource;
  /** Limiting key for a request (default: the client IP where the framework knows it). */
  key?: (req: Req) => string;
  /** Weight of a request (default 1). */
  cost?: (req: Req) => number;
  /**
   * Called when the middleware itself fails (e.g. `key` threw); the request then proceeds
   * unlimited, because the middleware must never break the host application.
   */
  onError?: (error: unknown) => void;
}

/** Runs the limiter for a request; any failure of the middleware's own code proceeds unlimited. */
export async function decideFor<Req>(options: MiddlewareOptions<Req>, req: Req, defaultKey: (req: Req) => string): Promise<Decision | undefined> {
  try {
    const key = (options.key ?? defaultKey)(req);
    const cost = options.cost?.(req) ?? 1;
    return await options.limiter.limit(key, { cost });
  } catch (error) {
    try {
      options.onError?.(error);
    } catch {
      // ignore: reporting must not fail the request either
    }
    return undefined;
  }
}
