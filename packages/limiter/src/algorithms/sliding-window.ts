import type { Counter } from './counter.ts';
import { floorDiv } from './int-math.ts';

/**
 * Sliding-window counter (approximate): the previous fixed window's count weighted by how much of
 * it still overlaps the sliding window, plus the current count. It assumes the previous window's
 * traffic was uniform, so it can admit more or less than an exact log would; memory is constant.
 * The comparison is done multiplied through by W, so the approximation itself has no float drift.
 */
export class SlidingWindowCounter implements Counter {
  private window = -1;
  private current = 0;
  private previous = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** prev·(W − elapsed) + curr·W: the weighted count scaled by W. */
  private scaled(now: number): number {
    const elapsed = now - this.window * this.windowMs;
    return this.previous * (this.windowMs - elapsed) + this.current * this.windowMs;
  }

  available(now: number): number {
    const w = floorDiv(now, this.windowMs);
    if (w !== this.window) {
      this.previous = w === this.window + 1 ? this.current : 0;
      this.current = 0;
      this.window = w;
    }
    return Math.max(0, floorDiv(this.limit * this.windowMs - this.scaled(now), this.windowMs));
  }

  retryAfter(now: number, cost: number): number | null {
    if (cost > this.limit) return null;
    const W = this.windowMs;
    const start = this.window * W;
    const room = this.limit - this.current - cost;
    if (room >= 0) {
      // Wait inside this window until the previous window's weight has decayed enough.
      const elapsed = this.previous === 0 ? 0 : W - floorDiv(room * W, this.previous);
      return Math.max(0, start + elapsed - now);
    }
    // Needs the next window, where today's count becomes the decaying previous one.
    const elapsed = Math.max(0, W - floorDiv((this.limit - cost) * W, this.current));
    return start + W + elapsed - now;
  }

  consume(_now: number, amount: number): void {
    this.current += amount;
  }

  refund(_now: number, amount: number): void {
    const fromCurrent = Math.min(this.current, amount);
    this.current -= fromCurrent;
    this.previous = Math.max(0, this.previous - (amount - fromCurrent));
  }

  resetAt(now: number): number {
    if (this.current > 0) return (this.window + 2) * this.windowMs;
    if (this.previous > 0) return (this.window + 1) * this.windowMs;
    return now;
  }

  expiresAt(): number {
    return (this.window + 2) * this.windowMs;
  }
}
