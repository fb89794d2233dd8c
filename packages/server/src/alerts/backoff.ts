/** The retry budget of the outbox (config `alerts.delivery`). */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts before a message goes to the dead-letter list. */
  maxAttempts: number;
}

/**
 * Delay before attempt `n + 1` after `n` failed ones: exponential (base × 2^(n−1), capped) with
 * "equal jitter" — half fixed, half random — so receivers coming back are not hit by every
 * sender at the same instant, and no retry comes sooner than half its step.
 */
export function retryDelayMs(failedAttempts: number, p: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(failedAttempts - 1, 30));
  return Math.round(step / 2 + random() * (step / 2));
}
