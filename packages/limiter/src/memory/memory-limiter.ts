import type { RefundResult, StoreDecision } from '../decision.ts';
import { validatePolicies } from '../policy.ts';
import type { Policy } from '../types.ts';
import { MemoryStore } from './memory-store.ts';
import type { MemoryStoreOptions } from './memory-store.ts';

/**
 * Synchronous in-process limiter: the fast path for a single node (no promise, no timer per call).
 * The memory store cannot fail, so every answer is a {@link StoreDecision}.
 */
export class MemoryLimiter {
  /** The underlying store (e.g. to share with an async {@link Limiter} or read `stats()`). */
  readonly store: MemoryStore;
  private readonly policies: readonly Policy[];

  constructor(options: MemoryStoreOptions & { policies: readonly Policy[]; store?: MemoryStore }) {
    this.policies = validatePolicies(options.policies);
    this.store = options.store ?? new MemoryStore(options);
  }

  /** Checks and consumes `cost` (default 1) on every policy of `key`, all or nothing. */
  limit(key: string, cost = 1): StoreDecision {
    return this.store.run(key, this.policies, cost, 'consume');
  }

  /** Decides without consuming. */
  peek(key: string, cost = 1): StoreDecision {
    return this.store.run(key, this.policies, cost, 'peek');
  }

  /** Gives `cost` back to every policy of `key`. */
  refund(key: string, cost = 1): RefundResult {
    return { ok: true, states: this.store.refund({ key, policies: this.policies, cost }).states };
  }
}
