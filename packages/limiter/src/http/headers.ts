import type { Policy, PolicyState } from '../types.ts';

/** Structured-field String (RFC 8941 §3.3.3): quoted, with `"` and `\` escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

/**
 * `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers): a List of policy items with quota
 * `q` and window `w` in seconds, e.g. `"burst";q=10;w=1, "daily";q=1000;w=86400`.
 */
export function rateLimitPolicyHeader(policies: readonly Policy[]): string {
  return policies.map((p) => `${sfString(p.name)};q=${p.algorithm === 'gcra' ? (p.burst ?? p.limit) : p.limit};w=${seconds(p.windowMs)}`).join(', ');
}

/**
 * `RateLimit`: per policy the remaining quota `r` and seconds `t` until it is fully reset,
 * e.g. `"burst";r=3;t=1, "daily";r=998;t=86400`. `now` is the store's decision time.
 */
export function rateLimitHeader(states: readonly PolicyState[], now: number): string {
  return states.map((s) => `${sfString(s.policy)};r=${s.remaining};t=${seconds(s.resetAt - now)}`).join(', ');
}

/** The most restrictive state: least remaining, then the latest reset. */
export function tightest(states: readonly PolicyState[]): PolicyState | undefined {
  let best: PolicyState | undefined;
  for (const s of states) {
    if (best === undefined || s.remaining < best.remaining || (s.remaining === best.remaining && s.resetAt > best.resetAt)) best = s;
  }
  return best;
}

/**
 * Legacy `X-RateLimit-Limit / -Remaining / -Reset` for the tightest policy; `-Reset` is in Unix
 * epoch seconds (as GitHub and most clients expect).
 */
export function legacyHeaders(states: readonly PolicyState[]): Record<string, string> {
  const t = tightest(states);
  if (t === undefined) return {};
  return {
    'X-RateLimit-Limit': String(t.limit),
    'X-RateLimit-Remaining': String(t.remaining),
    'X-RateLimit-Reset': String(Math.ceil(t.resetAt / 1000)),
  };
}

/**
 * `Retry-After` in delta seconds for a denial: the longest wait among violated policies, since
 * all must admit. Undefined when some policy can never admit the cost.
 */
export function retryAfterSeconds(violated: readonly PolicyState[]): number | undefined {
  let ms = 0;
  for (const s of violated) {
    if (s.retryAfterMs === null) return undefined;
    ms = Math.max(ms, s.retryAfterMs);
  }
  return Math.max(1, seconds(ms));
}
