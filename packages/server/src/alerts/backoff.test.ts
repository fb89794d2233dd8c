import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.ts';

describe('retry backoff', () => {
  const p = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 8 };
  it('doubles per failure, capped, with half of each step random', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, p, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, p, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(20, p, () => 1)).toBe(60_000);
    expect(retryDelayMs(20, p, () => 0)).toBe(30_000);
  });
});
