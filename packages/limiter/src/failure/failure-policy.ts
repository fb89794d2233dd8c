/**
 * What the limiter answers when the store cannot: `fail-open` admits, `fail-closed` rejects,
 * `open-then-closed` admits during the first `openForMs` of an outage, then rejects.
 */
export type FailureMode = 'fail-open' | 'fail-closed' | 'open-then-closed';

/** Why a decision was not taken by the store. */
export type FailureCause = 'store-error' | 'timeout' | 'circuit-open';

/** Failure handling options of a limiter. */
export interface FailurePolicy {
  mode: FailureMode;
  /** `open-then-closed` only: how long an outage is tolerated open (default 5 000 ms). */
  openForMs?: number;
}

/** Admission under a store failure: pure, so each mode is tested exactly with an injected clock. */
export function admitDuringOutage(policy: FailurePolicy, outageMs: number): boolean {
  switch (policy.mode) {
    case 'fail-open':
      return true;
    case 'fail-closed':
      return false;
    case 'open-then-closed':
      return outageMs < (policy.openForMs ?? 5_000);
  }
}
