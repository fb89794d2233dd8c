/** Supported limiting algorithms. */
export type Algorithm = 'sliding-log' | 'sliding-window' | 'gcra' | 'fixed-window';

/**
 * One rate-limit or quota policy, e.g. `{ name: 'burst', algorithm: 'gcra', limit: 10, windowMs: 1000 }`.
 * `limit` units are allowed per `windowMs`; for GCRA `limit / windowMs` is the refill rate and
 * `burst` (default `limit`) the bucket capacity. All numbers are positive safe integers.
 */
export interface Policy {
  /** Unique within a policy set; used in keys and in the `RateLimit` headers. */
  readonly name: string;
  readonly algorithm: Algorithm;
  readonly limit: number;
  readonly windowMs: number;
  /** GCRA only: bucket capacity (default `limit`). */
  readonly burst?: number;
}

/** Milliseconds since the Unix epoch; injectable so window math is testable exactly. */
export type Clock = () => number;

/** The state of one policy after a call. */
export interface PolicyState {
  readonly policy: string;
  /** True when this policy alone would admit the cost. */
  readonly allowed: boolean;
  /** Capacity of the policy (`burst` for GCRA). */
  readonly limit: number;
  /** Units left after this call's effect (unchanged when nothing was consumed). */
  readonly remaining: number;
  /** Epoch ms at which the policy is back at full capacity if no more traffic arrives. */
  readonly resetAt: number;
  /**
   * Ms until this cost would be admitted by this policy (0 when allowed);
   * `null` when it never can be (cost larger than the capacity).
   */
  readonly retryAfterMs: number | null;
}

/** What a store answers for one operation (all policies of one key, one atomic step). */
export interface StoreResult {
  /** Every policy admitted the cost (for `lease`: something was granted). */
  readonly allowed: boolean;
  /** Store time the decision was taken at (Redis server time for the Redis store). */
  readonly now: number;
  /** Units consumed (the cost, the lease grant, or 0 when nothing was consumed). */
  readonly consumed: number;
  readonly states: readonly PolicyState[];
}

/**
 * `consume`: take `cost` from every policy, all or nothing. `peek`: decide without consuming.
 * `lease`: take `min(cost, smallest remaining)` from every policy (hybrid mode chunks).
 */
export type StoreMode = 'consume' | 'peek' | 'lease';

/** A request to a limiter store. */
export interface StoreRequest {
  readonly key: string;
  readonly policies: readonly Policy[];
  readonly cost: number;
  readonly mode: StoreMode;
}

/**
 * The limiter backend port. Memory and Redis implement it and pass the same contract suite.
 * Implementations may answer synchronously (memory) or asynchronously (Redis).
 */
export interface LimiterStore {
  apply(request: StoreRequest): StoreResult | Promise<StoreResult>;
  /** Gives `cost` units back to every policy of `key` (floored at empty). */
  refund(request: Omit<StoreRequest, 'mode'>): StoreResult | Promise<StoreResult>;
}
