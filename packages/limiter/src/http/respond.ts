import type { Decision } from '../decision.ts';
import type { Policy } from '../types.ts';
import { legacyHeaders, rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds } from './headers.ts';

/** RFC 9457 problem details body for a rejected request. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Error code from the Tally registry: `RATE_LIMITED` or `STORE_UNAVAILABLE`. */
  code: 'RATE_LIMITED' | 'STORE_UNAVAILABLE';
  violated?: { policy: string; limit: number; remaining: number; retryAfterSeconds: number | null }[];
}

/** What an HTTP adapter should do with a decision. */
export interface HttpOutcome {
  /** Continue to the handler (true) or answer with `status` and `body`. */
  proceed: boolean;
  status: 200 | 429 | 503;
  headers: Record<string, string>;
  body?: ProblemBody;
}

/** Media type of problem bodies. */
export const PROBLEM_JSON = 'application/problem+json';

/**
 * Maps a decision to headers and, for rejections, a problem+json body: 429 names the violated
 * policies; a store outage the failure policy rejects is 503 `STORE_UNAVAILABLE`, never a 429.
 */
export function httpOutcome(decision: Decision, policies: readonly Policy[]): HttpOutcome {
  if (!decision.ok) {
    if (decision.allowed) return { proceed: true, status: 200, headers: {} };
    return {
      proceed: false,
      status: 503,
      headers: { 'Retry-After': '1' },
      body: {
        type: 'https://tally.dev/problems/store-unavailable',
        title: 'Service Unavailable',
        status: 503,
        detail: `rate-limit store unavailable (${decision.cause}); failure policy ${decision.mode} rejects`,
        code: 'STORE_UNAVAILABLE',
      },
    };
  }
  const headers: Record<string, string> = {
    'RateLimit-Policy': rateLimitPolicyHeader(policies),
    RateLimit: rateLimitHeader(decision.states, decision.now),
    ...legacyHeaders(decision.states),
  };
  if (decision.allowed) return { proceed: true, status: 200, headers };
  const retry = retryAfterSeconds(decision.violated);
  if (retry !== undefined) headers['Retry-After'] = String(retry);
  return {
    proceed: false,
    status: 429,
    headers,
    body: {
      type: 'https://tally.dev/problems/rate-limited',
      title: 'Too Many Requests',
      status: 429,
      detail: `rate limit exceeded: ${decision.violated.map((v) => v.policy).join(', ')}`,
      code: 'RATE_LIMITED',
      violated: decision.violated.map((v) => ({
        policy: v.policy,
        limit: v.limit,
        remaining: v.remaining,
        retryAfterSeconds: v.retryAfterMs === null ? null : Math.ceil(v.retryAfterMs / 1000),
      })),
    },
  };
}
