import type { Clock } from '../types.ts';

/** Options of {@link CircuitBreaker}. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 3). */
  failureThreshold?: number;
  /** Ms the circuit stays open before one probe call is let through (default 200). */
  cooldownMs?: number;
}

/** Breaker state as seen by callers. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Circuit breaker with an injectable clock. Open: calls are short-circuited without touching the
 * store. After `cooldownMs` one probe is admitted (half-open); its success closes the circuit, its
 * failure re-opens it for another cooldown. Recovery after the store returns therefore takes at
 * most `cooldownMs` plus one round trip.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = -1;
  private probing = false;
  private readonly threshold: number;
  private readonly cooldownMs: number;

  constructor(
    private readonly clock: Clock,
    options: BreakerOptions = {},
  ) {
    this.threshold = options.failureThreshold ?? 3;
    this.cooldownMs = options.cooldownMs ?? 200;
  }

  /** Current state at the clock's time. */
  state(): BreakerState {
    if (this.openedAt < 0) return 'closed';
    return this.clock() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** True when a call may go to the store now; claims the single probe slot when half-open. */
  tryAcquire(): boolean {
    const s = this.state();
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Records a successful store call. */
  success(): void {
    this.failures = 0;
    this.openedAt = -1;
    this.probing = false;
  }

  /** Records a failed store call (error or timeout). */
  failure(): void {
    this.failures += 1;
    if (this.probing || this.failures >= this.threshold) {
      this.openedAt = this.clock();
      this.probing = false;
    }
  }
}
