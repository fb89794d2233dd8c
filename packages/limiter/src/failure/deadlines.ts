/** A pending call's deadline; pass it to {@link DeadlineQueue.settle} when the call answers. */
export interface Deadline {
  readonly at: number;
  readonly fire: () => void;
  done: boolean;
  next: Deadline | null;
}

/**
 * Timeouts for many in-flight calls with one timer. All deadlines of a limiter share one
 * duration, so they expire in the order they were added (a FIFO) and only the oldest pending
 * one needs a timer: no `setTimeout`/`clearTimeout` pair per call on the hot path. Settled
 * entries are dropped lazily when the timer passes them.
 */
export class DeadlineQueue {
  private head: Deadline | null = null;
  private tail: Deadline | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ms: number) {}

  /** Arms a deadline `ms` from now; `fire` runs once if the call has not settled by then. */
  add(fire: () => void): Deadline {
    const d: Deadline = { at: performance.now() + this.ms, fire, done: false, next: null };
    if (this.tail === null) this.head = d;
    else this.tail.next = d;
    this.tail = d;
    if (this.timer === undefined) this.arm(this.ms);
    return d;
  }

  /** True when the call answered in time (and disarms its deadline); false once it fired. */
  settle(d: Deadline): boolean {
    if (d.done) return false;
    d.done = true;
    return true;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(ms)));
    // Pending store calls keep their sockets open; the timer alone must not hold the process.
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    let d = this.head;
    while (d !== null && (d.done || d.at <= now)) {
      if (!d.done) {
        d.done = true;
        d.fire();
      }
      d = d.next;
    }
    this.head = d;
    if (d === null) this.tail = null;
    else this.arm(d.at - now);
  }
}
