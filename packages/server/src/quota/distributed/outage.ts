import { admitDuringOutage, type FailureMode } from '@tally/limiter';
import type { FailurePolicyName } from '../counters.ts';

const MODE: Record<FailurePolicyName, FailureMode> = { open: 'fail-open', closed: 'fail-closed', 'open-then-closed': 'open-then-closed' };

/**
 * How long the shared counters have been unreachable, and what each failure policy answers for
 * it (the limiter's `admitDuringOutage`, so both layers mean the same by open-then-closed).
 */
export class Outage {
  private since: number | undefined;
  /** Failed calls so far (exported as a metric). */
  failures = 0;

  constructor(
    private readonly nowMs: () => number,
    private readonly openForMs: number,
  ) {}

  /** True while the last call failed. */
  get active(): boolean {
    return this.since !== undefined;
  }

  /** Records a failed call; the outage starts at the first. */
  fail(): void {
    this.failures++;
    this.since ??= this.nowMs();
  }

  /** Records a successful call; true when it ended an outage. */
  ok(): boolean {
    const was = this.since !== undefined;
    this.since = undefined;
    return was;
  }

  /** Whether `policy` admits now. */
  admits(policy: FailurePolicyName): boolean {
    return admitDuringOutage({ mode: MODE[policy], openForMs: this.openForMs }, this.since === undefined ? 0 : this.nowMs() - this.since);
  }
}
