import type { Counter } from './counter.ts';
import { floorDiv } from './int-math.ts';

/** Fixed window: exact count per aligned window `[k·W, (k+1)·W)`; allows up to 2×limit across a boundary. */
export class FixedWindowCounter implements Counter {
  private window = -1;
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  available(now: number): number {
    const w = floorDiv(now, this.windowMs);
    if (w !== this.window) {
      this.window = w;
      this.count = 0;
    }
    return Math.max(0, this.limit - this.count);
  }

  retryAfter(now: number, cost: number): number | null {
    if (cost > this.limit) return null;
    return (this.window + 1) * this.windowMs - now;
  }

  consume(_now: number, amount: number): void {
    this.count += amount;
  }

  refund(_now: number, amount: number): void {
    this.count = Math.max(0, this.count - amount);
  }

  resetAt(now: number): number {
    return this.count > 0 ? (this.window + 1) * this.windowMs : now;
  }

  expiresAt(): number {
    return (this.window + 1) * this.windowMs;
  }
}
