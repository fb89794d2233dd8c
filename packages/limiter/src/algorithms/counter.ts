import type { Policy } from '../types.ts';
import { FixedWindowCounter } from './fixed-window.ts';
import { GcraCounter } from './gcra.ts';
import { SlidingLogCounter } from './sliding-log.ts';
import { SlidingWindowCounter } from './sliding-window.ts';

/**
 * In-memory state of one policy on one key. `available(now)` must be called first in every
 * operation: it rolls the state forward to `now` (invisible to callers, so peek may call it).
 * The Redis Lua script implements the same transitions; the contract suite holds them equal.
 */
export interface Counter {
  /** Units that may be consumed at `now` (never negative). */
  available(now: number): number;
  /** Ms until `cost` is admissible assuming no other traffic; null when it never is. */
  retryAfter(now: number, cost: number): number | null;
  consume(now: number, amount: number): void;
  /** Gives units back, floored at empty. */
  refund(now: number, amount: number): void;
  /** Epoch ms when the policy is back at full capacity with no more traffic. */
  resetAt(now: number): number;
  /** Epoch ms after which the state equals a fresh one and may be dropped. */
  expiresAt(): number;
}

/** Creates the empty counter for a policy. */
export function createCounter(policy: Policy): Counter {
  switch (policy.algorithm) {
    case 'fixed-window':
      return new FixedWindowCounter(policy.limit, policy.windowMs);
    case 'sliding-window':
      return new SlidingWindowCounter(policy.limit, policy.windowMs);
    case 'gcra':
      return new GcraCounter(policy.limit, policy.windowMs, policy.burst ?? policy.limit);
    case 'sliding-log':
      return new SlidingLogCounter(policy.limit, policy.windowMs);
  }
}
