import type { Decision, RefundResult, StoreDecision } from './decision.ts';
import { CircuitBreaker } from './failure/breaker.ts';
import type { BreakerOptions } from './failure/breaker.ts';
import { DeadlineQueue } from './failure/deadlines.ts';
import { admitDuringOutage } from './failure/failure-policy.ts';
import type { FailureCause, FailurePolicy } from './failure/failure-policy.ts';
import { validatePolicies } from './policy.ts';
import type { Clock, LimiterStore, Policy, StoreMode, StoreResult } from './types.ts';

/** Options of {@link Limiter}. */
export interface LimiterOptions {
  store: LimiterStore;
  /** Default policy set, checked and consumed together on every call. */
  policies: readonly Policy[];
  /** Required: what to answer when the store cannot (there is deliberately no default). */
  failure: FailurePolicy;
  /** Per-call store timeout in ms (default 100); a timeout counts as a store failure. */
  timeoutMs?: number;
  breaker?: BreakerOptions;
  /** Clock for outage durations and the breaker (default `Date.now`); never used for windows. */
  clock?: Clock;
  /** Observer for store failures (logging, metrics); exceptions it throws are ignored. */
  onStoreError?: (cause: FailureCause, error: unknown) => void;
}

/** Per-call options. */
export interface CallOptions {
  /** Weight of the call (non-negative integer, default 1). */
  cost?: number;
  /** Policy set for this call instead of the default (e.g. a tenant's plan); validated once. */
  policies?: readonly Policy[];
}

class StoreTimeout extends Error {
  constructor(ms: number) {
    super(`limiter store did not answer within ${ms} ms`);
    this.name = 'StoreTimeout';
  }
}

type Attempt = { ok: true; result: StoreResult } | { ok: false; cause: FailureCause; error?: unknown };

/**
 * Rate limiter over any {@link LimiterStore}: atomic multi-policy checks with a typed failure
 * policy. Its methods never reject because of the store: errors, timeouts and an open circuit
 * become a {@link DegradedDecision} whose `allowed` follows the failure policy.
 */
export class Limiter {
  private readonly store: LimiterStore;
  private readonly policies: readonly Policy[];
  private readonly failure: FailurePolicy;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly breaker: CircuitBreaker;
  private readonly onStoreError: LimiterOptions['onStoreError'];
  private readonly validated = new WeakSet<readonly Policy[]>();
  private outageSince = -1;
  private readonly deadlines: DeadlineQueue;

  constructor(options: LimiterOptions) {
    this.store = options.store;
    this.policies = validatePolicies(options.policies);
    this.validated.add(this.policies);
    this.failure = options.failure;
    this.timeoutMs = options.timeoutMs ?? 100;
    this.deadlines = new DeadlineQueue(this.timeoutMs);
    this.clock = options.clock ?? Date.now;
    this.breaker = new CircuitBreaker(this.clock, options.breaker);
    this.onStoreError = options.onStoreError;
  }

  /** Checks and consumes `cost` on every policy of `key`, all or nothing. */
  limit(key: string, options: CallOptions = {}): Promise<Decision> {
    return this.decide(key, 'consume', options);
  }

  /** Decides like {@link limit} without consuming anything. */
  peek(key: string, options: CallOptions = {}): Promise<Decision> {
    return this.decide(key, 'peek', options);
  }

  /**
   * Takes up to `chunk` units from every policy of `key` at once (the largest amount all of them
   * admit); `consumed` says how much was granted. Used by {@link HybridLimiter} to lease allowances.
   */
  lease(key: string, chunk: number, options: Omit<CallOptions, 'cost'> = {}): Promise<Decision> {
    return this.decide(key, 'lease', { ...options, cost: chunk });
  }

  /** Gives `cost` back to every policy of `key` (e.g. the guarded work was not done). */
  async refund(key: string, options: CallOptions = {}): Promise<RefundResult> {
    // (async: refunds are rare; a RangeError from a bad cost surfaces as a rejection)
    const policies = this.policiesFor(options);
    const attempt = await this.attempt(() => this.store.refund({ key, policies, cost: options.cost ?? 1 }), (a) => a);
    if (attempt.ok) return { ok: true, states: attempt.result.states };
    return attempt.error === undefined ? { ok: false, cause: attempt.cause } : { ok: false, cause: attempt.cause, error: attempt.error };
  }

  /** The default policy set. */
  get defaultPolicies(): readonly Policy[] {
    return this.policies;
  }

  /** The breaker's state, for health endpoints. */
  circuitState(): ReturnType<CircuitBreaker['state']> {
    return this.breaker.state();
  }

  private decide(key: string, mode: StoreMode, options: CallOptions): Promise<Decision> {
    try {
      const policies = this.policiesFor(options);
      const cost = options.cost ?? 1;
      const attempt = this.attempt(() => this.store.apply({ key, policies, cost, mode }), this.toOutcome);
      // Synchronous stores (memory) answer without an extra promise hop per call.
      return attempt instanceof Promise ? attempt : Promise.resolve(attempt);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error))); // caller bugs only
    }
  }

  private readonly toOutcome = (attempt: Attempt): Decision => {
    if (attempt.ok) return toDecision(attempt.result);
    const outageMs = this.clock() - this.outageSince;
    const degraded = { ok: false as const, allowed: admitDuringOutage(this.failure, outageMs), cause: attempt.cause, mode: this.failure.mode, outageMs };
    return attempt.error === undefined ? degraded : { ...degraded, error: attempt.error };
  };

  private policiesFor(options: CallOptions): readonly Policy[] {
    const p = options.policies;
    if (p === undefined) return this.policies;
    if (!this.validated.has(p)) {
      validatePolicies(p);
      this.validated.add(p);
    }
    return p;
  }

  /**
   * Runs one store operation under the breaker and timeout and maps its attempt with `done`;
   * never throws a store failure. One promise per asynchronous call (the timeout is a shared
   * deadline queue, not a timer per call): this is the hot path of every Redis decision.
   */
  private attempt<T>(op: () => StoreResult | Promise<StoreResult>, done: (a: Attempt) => T): T | Promise<T> {
    if (!this.breaker.tryAcquire()) {
      this.markOutage();
      return done({ ok: false, cause: 'circuit-open' });
    }
    let pending: StoreResult | Promise<StoreResult>;
    try {
      pending = op();
    } catch (error) {
      return done(this.failed(error));
    }
    if (!(pending instanceof Promise)) return done(this.succeeded(pending));
    const store = pending;
    return new Promise<T>((resolve, reject) => {
      const fail = (error: unknown) => {
        try {
          resolve(done(this.failed(error)));
        } catch (bug) {
          reject(bug instanceof Error ? bug : new Error(String(bug))); // a caller bug (bad cost)
        }
      };
      const deadline = this.deadlines.add(() => fail(new StoreTimeout(this.timeoutMs)));
      store.then(
        (result) => {
          if (this.deadlines.settle(deadline)) resolve(done(this.succeeded(result)));
        },
        (error: unknown) => {
          if (this.deadlines.settle(deadline)) fail(error);
        },
      );
    });
  }

  private succeeded(result: StoreResult): Attempt {
    this.breaker.success();
    this.outageSince = -1;
    return { ok: true, result };
  }

  private failed(error: unknown): Attempt {
    if (error instanceof RangeError) throw error; // a caller bug (bad cost), not a store failure
    const cause: FailureCause = error instanceof StoreTimeout ? 'timeout' : 'store-error';
    this.breaker.failure();
    this.markOutage();
    try {
      this.onStoreError?.(cause, error);
    } catch {
      // an observer must not turn a degraded decision into an exception
    }
    return { ok: false, cause, error };
  }

  private markOutage(): void {
    if (this.outageSince < 0) this.outageSince = this.clock();
  }
}

/** Shapes a store result as a {@link StoreDecision}. */
export function toDecision(result: StoreResult): StoreDecision {
  if ((result as Partial<StoreDecision>).ok === true) return result as StoreDecision; // memory store
  return {
    ok: true,
    allowed: result.allowed,
    now: result.now,
    consumed: result.consumed,
    states: result.states,
    violated: result.allowed ? [] : result.states.filter((s) => !s.allowed),
  };
}
