import type { FailureCause, FailureMode } from './failure/failure-policy.ts';
import type { PolicyState } from './types.ts';

/** The store decided: `allowed` is its answer and `states` names every policy's state. */
export interface StoreDecision {
  readonly ok: true;
  readonly allowed: boolean;
  /** Store time of the decision (Redis server time for the Redis store). */
  readonly now: number;
  /** Units consumed by this call (0 for peek, denials and zero cost). */
  readonly consumed: number;
  readonly states: readonly PolicyState[];
  /** The policies that rejected the cost (empty when allowed). */
  readonly violated: readonly PolicyState[];
}

/**
 * The store could not decide (error, timeout, open circuit). `allowed` comes from the failure
 * policy, never from a limit, so callers can tell an outage from a denial (e.g. 503 vs 429).
 */
export interface DegradedDecision {
  readonly ok: false;
  readonly allowed: boolean;
  readonly cause: FailureCause;
  readonly mode: FailureMode;
  /** How long the current outage has lasted, by the limiter's clock. */
  readonly outageMs: number;
  readonly error?: unknown;
}

/** Result of a limiter call: a store decision or a degraded (failure-policy) decision. */
export type Decision = StoreDecision | DegradedDecision;

/** Result of a refund: the policies' states after it, or why the store could not take it. */
export type RefundResult =
  | { readonly ok: true; readonly states: readonly PolicyState[] }
  | { readonly ok: false; readonly cause: FailureCause; readonly error?: unknown };
