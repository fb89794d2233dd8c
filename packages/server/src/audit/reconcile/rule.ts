import type { EpochMicros } from '../../shared/time.ts';

/** One checked item of a rule: `ok`, or a discrepancy with the exact values. */
export interface RuleResult {
  rule: string;
  /** What was compared, e.g. `{ meter, tenant, day, resolution }`. */
  scope: Record<string, string>;
  status: 'ok' | 'discrepancy';
  /** The reference value (raw events, the store…) and the checked one, exact decimals. */
  expected: string;
  actual: string;
  /** actual − expected, exact. */
  difference: string;
  /** What the numbers count (events, a meter's quantity, currency…). */
  unit: string;
}

/** One rule's outcome in a run. */
export interface RuleSummary {
  rule: string;
  description: string;
  status: 'ok' | 'discrepancy' | 'error';
  checked: number;
  discrepancies: number;
  /** The discrepancies (at most 100). */
  results: RuleResult[];
  error?: string;
}

/** What a rule checks: one UTC day (for the rules that work per day), at `now`. */
export interface ReconcileScope {
  day: string;
  from: EpochMicros;
  to: EpochMicros;
  now: EpochMicros;
}

/**
 * A named, documented reconciliation rule (docs/audit.md lists them). One file per rule family,
 * as pricing models are: the job runs each and records its results.
 */
export interface ReconcileRule {
  readonly name: string;
  readonly description: string;
  check(scope: ReconcileScope): Promise<RuleResult[]>;
}

/** A result comparing two exact scaled (×10^12) or integer values. */
export function compare(rule: string, scope: Record<string, string>, expected: bigint, actual: bigint, unit: string, format: (v: bigint) => string = String): RuleResult {
  return { rule, scope, status: expected === actual ? 'ok' : 'discrepancy', expected: format(expected), actual: format(actual), difference: format(actual - expected), unit };
}

/** Runs a rule into its summary; a rule that throws is an `error` (never a silent ok). */
export async function runRule(rule: ReconcileRule, scope: ReconcileScope): Promise<RuleSummary> {
  try {
    const results = await rule.check(scope);
    const bad = results.filter((r) => r.status === 'discrepancy');
    return { rule: rule.name, description: rule.description, status: bad.length ? 'discrepancy' : 'ok', checked: results.length, discrepancies: bad.length, results: bad.slice(0, 100) };
  } catch (err) {
    return { rule: rule.name, description: rule.description, status: 'error', checked: 0, discrepancies: 0, results: [], error: (err as Error).message };
  }
}
