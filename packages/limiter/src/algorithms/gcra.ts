import type { Counter } from './counter.ts';
import { ceilDiv, floorDiv } from './int-math.ts';

/**
 * GCRA token bucket, exact and constant memory. Instead of a fractional theoretical arrival time
 * it keeps an integer "debt" in units where one ms equals `limit` units and one request costs
 * `windowMs` units (so the emission interval windowMs/limit is never rounded). The debt decays by
 * `limit` per ms; a cost is admitted while debt + cost·W ≤ burst·W. The debt never goes negative.
 */
export class GcraCounter implements Counter {
  private at = 0;
  private debt = 0;
  private readonly capacity: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly burst: number,
  ) {
    this.capacity = burst * windowMs;
  }

  available(now: number): number {
    if (now > this.at) {
      // elapsed·limit ≥ debt ⟺ elapsed ≥ ⌈debt/limit⌉. Past 2^53 the product is rounded but stays
      // ≥ 2^53 > debt, so the comparison is still exact; below it the product is exact.
      const drained = (now - this.at) * this.limit;
      this.debt = drained >= this.debt ? 0 : this.debt - drained;
      this.at = now;
    }
    if (this.debt === 0) return this.burst;
    return Math.max(0, floorDiv(this.capacity - this.debt, this.windowMs));
  }

  retryAfter(_now: number, cost: number): number | null {
    if (cost > this.burst) return null;
    return Math.max(0, ceilDiv(this.debt + cost * this.windowMs - this.capacity, this.limit));
  }

  consume(_now: number, amount: number): void {
    this.debt += amount * this.windowMs;
  }

  refund(_now: number, amount: number): void {
    this.debt = Math.max(0, this.debt - amount * this.windowMs);
  }

  resetAt(_now: number): number {
    return this.debt === 0 ? this.at : this.at + ceilDiv(this.debt, this.limit);
  }

  expiresAt(): number {
    return this.debt === 0 ? this.at : this.at + ceilDiv(this.debt, this.limit);
  }
}
