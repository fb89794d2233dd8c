import type { Counter } from './counter.ts';

/**
 * Sliding-window log, exact: every admitted call is logged as (time, cost); a call at `now` sees
 * the entries in (now − W, now]. Memory per key is O(limit) entries (costs are ≥ 1, zero-cost
 * calls are not logged), held in a queue that is compacted as entries expire.
 */
export class SlidingLogCounter implements Counter {
  private times: number[] = [];
  private costs: number[] = [];
  private head = 0;
  private sum = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  available(now: number): number {
    const cutoff = now - this.windowMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= cutoff) {
      this.sum -= this.costs[this.head] as number;
      this.head += 1;
    }
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.costs = this.costs.slice(this.head);
      this.head = 0;
    }
    return Math.max(0, this.limit - this.sum);
  }

  retryAfter(now: number, cost: number): number | null {
    if (cost > this.limit) return null;
    let needed = this.sum + cost - this.limit;
    for (let i = this.head; i < this.times.length; i += 1) {
      needed -= this.costs[i] as number;
      if (needed <= 0) return (this.times[i] as number) + this.windowMs - now;
    }
    return 0;
  }

  consume(now: number, amount: number): void {
    if (amount === 0) return;
    this.times.push(now);
    this.costs.push(amount);
    this.sum += amount;
  }

  refund(_now: number, amount: number): void {
    // Newest entries go first: they are the ones a refund most likely corresponds to.
    let left = amount;
    while (left > 0 && this.times.length > this.head) {
      const last = this.costs.length - 1;
      const c = this.costs[last] as number;
      if (c > left) {
        this.costs[last] = c - left;
        this.sum -= left;
        return;
      }
      this.costs.pop();
      this.times.pop();
      this.sum -= c;
      left -= c;
    }
  }

  resetAt(now: number): number {
    return this.times.length > this.head ? (this.times[this.times.length - 1] as number) + this.windowMs : now;
  }

  expiresAt(): number {
    return this.times.length > this.head ? (this.times[this.times.length - 1] as number) + this.windowMs : 0;
  }
}
