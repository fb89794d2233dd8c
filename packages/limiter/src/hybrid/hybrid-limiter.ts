import type { Decision, StoreDecision } from '../decision.ts';
import type { Limiter } from '../limiter.ts';
import { assertCost } from '../policy.ts';
import type { Clock, Policy, PolicyState } from '../types.ts';

/** Options of {@link HybridLimiter}. */
export interface HybridOptions {
  /** The global limiter (normally over a RedisStore) that leases are taken from. */
  limiter: Limiter;
  /** Units leased per refill; also the bound on units this node holds unused. */
  chunk: number;
  /** Longest life of a lease for gcra / sliding-log policies (default 1 000 ms, capped at windowMs). */
  leaseMs?: number;
  /** Monotonic local clock (default `performance.now`-based); never compared with Redis time. */
  clock?: Clock;
}

interface Lease {
  tokens: number;
  expiresAt: number;
  states: readonly PolicyState[];
  now: number;
  refill: Promise<Decision> | undefined;
}

const monotonic: Clock = () => performance.timeOrigin + performance.now();

/**
 * Hybrid local + global limiting: each node leases allowances from the global store in chunks and
 * spends them locally without a round trip. Leases are consumed globally when granted, so the
 * store never admits more than its limit in total; what can exceed a window is only *when* leased
 * units are spent. Overshoot bound, with N nodes: fixed-window and sliding-window leases die at
 * the end of the window they were counted in (measured from the request's send time, so never
 * late), giving 0 overshoot per window; for gcra and sliding-log a leased unit may be spent up to
 * `leaseMs` after it was counted, so any window can admit at most N × chunk more than its limit.
 * Undershoot: up to N × chunk units can sit unused in leases (gcra/sliding-log leases are refunded
 * when they expire; fixed/sliding-window units lapse with their window).
 */
export class HybridLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly limiter: Limiter;
  private readonly chunk: number;
  private readonly leaseMs: number;
  private readonly clock: Clock;
  private readonly policies: readonly Policy[];
  private readonly refundable: boolean;

  constructor(options: HybridOptions) {
    this.limiter = options.limiter;
    this.chunk = options.chunk;
    assertCost(this.chunk);
    this.policies = options.limiter.defaultPolicies;
    const minWindow = Math.min(...this.policies.map((p) => p.windowMs));
    this.leaseMs = Math.min(options.leaseMs ?? 1_000, minWindow);
    this.clock = options.clock ?? monotonic;
    this.refundable = this.policies.every((p) => p.algorithm === 'gcra' || p.algorithm === 'sliding-log');
  }

  /**
   * Synchronous fast path: spends `cost` from this node's lease if it holds enough.
   * Returns false when a round trip is needed (use {@link limit}).
   */
  tryLocal(key: string, cost = 1): boolean {
    const lease = this.leases.get(key);
    if (lease === undefined || lease.tokens < cost || this.clock() >= lease.expiresAt) return false;
    lease.tokens -= cost;
    return true;
  }

  /** The policy set leased from (the global limiter's). */
  get defaultPolicies(): readonly Policy[] {
    return this.policies;
  }

  /** Admits `cost` (default 1) from the local lease, refilling it from the global store when needed. */
  async limit(key: string, options: { cost?: number } = {}): Promise<Decision> {
    const cost = options.cost ?? 1;
    assertCost(cost);
    if (cost > this.chunk) return this.limiter.limit(key, { cost });
    for (;;) {
      const lease = this.current(key);
      if (lease.tokens >= cost) {
        lease.tokens -= cost;
        return this.localDecision(lease, cost);
      }
      lease.refill ??= this.refill(key, lease);
      const outcome = await lease.refill;
      if (!outcome.ok) return outcome;
      if (outcome.consumed === 0) return outcome; // the store denied: nothing left globally
    }
  }

  /** Units this node currently holds for `key` (for tests and metrics). */
  held(key: string): number {
    return this.leases.get(key)?.tokens ?? 0;
  }

  private current(key: string): Lease {
    let lease = this.leases.get(key);
    const now = this.clock();
    if (lease !== undefined && now >= lease.expiresAt && lease.refill === undefined) {
      if (this.refundable && lease.tokens > 0) void this.limiter.refund(key, { cost: lease.tokens });
      lease = undefined;
    }
    if (lease === undefined) {
      lease = { tokens: 0, expiresAt: Number.POSITIVE_INFINITY, states: [], now: 0, refill: undefined };
      this.leases.set(key, lease);
    }
    return lease;
  }

  private async refill(key: string, lease: Lease): Promise<Decision> {
    // One generation per lease: leftovers (fewer than the waiting cost) are given back or lapse
    // before asking for more, so a node never holds more than `chunk` units and each has one expiry.
    if (this.refundable && lease.tokens > 0) void this.limiter.refund(key, { cost: lease.tokens });
    lease.tokens = 0;
    const sentAt = this.clock();
    try {
      const d = await this.limiter.lease(key, this.chunk);
      if (d.ok && d.consumed > 0) {
        lease.tokens = d.consumed;
        lease.states = d.states;
        lease.now = d.now;
        lease.expiresAt = sentAt + this.validFor(d);
      }
      return d;
    } finally {
      lease.refill = undefined;
    }
  }

  /** Ms (from the store's `now`) during which units leased in `d` may be spent. */
  private validFor(d: StoreDecision): number {
    let ms = this.leaseMs;
    this.policies.forEach((p, i) => {
      const s = d.states[i];
      if (s === undefined) return;
      if (p.algorithm === 'fixed-window') ms = Math.min(ms, s.resetAt - d.now);
      else if (p.algorithm === 'sliding-window') ms = Math.min(ms, s.resetAt - p.windowMs - d.now);
    });
    return ms;
  }

  private localDecision(lease: Lease, cost: number): StoreDecision {
    const states = lease.states.map((s) => ({ ...s, remaining: s.remaining + lease.tokens }));
    return { ok: true, allowed: true, now: lease.now, consumed: cost, states, violated: [] };
  }
}
