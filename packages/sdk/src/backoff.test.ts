import { describe, expect, it } from 'vitest';
import { backoffDelay, nextDelay, parseRetryAfter } from './backoff.ts';

describe('backoff', () => {
  it('grows the ceiling exponentially up to the cap, with full jitter below it', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0.999999)).toBe(99);
    expect(backoffDelay(3, 100, 10_000, () => 0.999999)).toBe(799);
    expect(backoffDelay(50, 100, 10_000, () => 0.999999)).toBe(9_999);
    expect(backoffDelay(5, 100, 10_000, () => 0)).toBe(0);
  });

  it('parses Retry-After seconds and HTTP dates, ignores garbage', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('never waits less than the server asked', () => {
    expect(nextDelay(0, 5_000, { initialDelayMs: 100, maxDelayMs: 1_000 }, () => 0.5)).toBe(5_000);
    expect(nextDelay(4, undefined, { initialDelayMs: 100, maxDelayMs: 1_000 }, () => 0.5)).toBe(500);
  });
});
