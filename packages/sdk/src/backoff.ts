/**
 * Exponential backoff with full jitter (AWS architecture blog): a uniform delay in
 * [0, min(maxDelay, initial * 2^attempt)], which spreads reconnecting clients apart.
 */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds from `nowMs`; undefined if absent or invalid. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The wait before the next attempt: the server's Retry-After wins over a shorter jittered delay. */
export function nextDelay(attempt: number, retryAfterMs: number | undefined, retry: { initialDelayMs: number; maxDelayMs: number }, random?: () => number): number {
  const jittered = backoffDelay(attempt, retry.initialDelayMs, retry.maxDelayMs, random);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}
