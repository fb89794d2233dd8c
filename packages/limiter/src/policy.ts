import type { Algorithm, Policy } from './types.ts';

const ALGORITHMS: readonly Algorithm[] = ['sliding-log', 'sliding-window', 'gcra', 'fixed-window'];
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Raised for invalid policy sets; `problems` lists every problem found, by path. */
export class PolicyError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid limiter policies: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

function positiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * Validates a policy set up front and reports every problem at once.
 * Products such as `limit × windowMs` must stay below 2^53 so all window math is exact integers.
 */
export function validatePolicies(policies: readonly Policy[]): readonly Policy[] {
  const problems: string[] = [];
  if (policies.length === 0) problems.push('policies: at least one policy is required');
  const seen = new Set<string>();
  policies.forEach((p, i) => {
    const at = `policies[${i}]`;
    if (typeof p.name !== 'string' || !NAME.test(p.name)) problems.push(`${at}.name: 1-64 chars of [A-Za-z0-9_.-]`);
    else if (seen.has(p.name)) problems.push(`${at}.name: duplicate "${p.name}"`);
    else seen.add(p.name);
    if (!ALGORITHMS.includes(p.algorithm)) problems.push(`${at}.algorithm: one of ${ALGORITHMS.join(', ')}`);
    if (!positiveInt(p.limit)) problems.push(`${at}.limit: positive integer`);
    if (!positiveInt(p.windowMs)) problems.push(`${at}.windowMs: positive integer`);
    if (p.burst !== undefined && (!positiveInt(p.burst) || p.algorithm !== 'gcra')) {
      problems.push(`${at}.burst: positive integer, gcra only`);
    }
    const capacity = p.burst ?? p.limit;
    // GCRA debt reaches (burst + cost) × windowMs; the sliding counter multiplies limit × windowMs.
    const multiplies = p.algorithm === 'gcra' || p.algorithm === 'sliding-window';
    if (multiplies && positiveInt(capacity) && positiveInt(p.windowMs) && 2 * capacity * p.windowMs > Number.MAX_SAFE_INTEGER) {
      problems.push(`${at}: limit × windowMs too large for exact integer math`);
    }
  });
  if (problems.length > 0) throw new PolicyError(problems);
  return policies;
}

/** Throws a RangeError unless `cost` is a non-negative safe integer (weights are integers, never floats). */
export function assertCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) throw new RangeError(`cost must be a non-negative integer, got ${cost}`);
}

/** Capacity reported for a policy: `burst` for GCRA, else `limit`. */
export function capacityOf(p: Policy): number {
  return p.algorithm === 'gcra' ? (p.burst ?? p.limit) : p.limit;
}
