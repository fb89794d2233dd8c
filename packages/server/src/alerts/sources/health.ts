import { CANARY_JOB } from '../../audit/canary/canary-job.ts';
import { RECONCILE_JOB, latestRuleResults, type LatestResult } from '../../audit/reconcile/reconciliation.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { MICROS_PER_DAY, formatMicros } from '../../shared/time.ts';
import type { Finding } from '../alert.ts';
import type { Source } from './context.ts';

/**
 * Rules whose latest result (from the recorded runs of `jobs`) is a discrepancy or an error: one
 * subject per rule name, so the alert resolves when a later run of that rule is ok.
 */
async function failingRules(runner: Pick<JobRunner, 'list'>, jobs: readonly string[], what: string): Promise<Finding[]> {
  const failing = (await latestRuleResults(runner, jobs)).filter((r) => r.status !== 'ok');
  return failing.map((r: LatestResult): Finding => {
    const first = r.results[0];
    const diff = first ? ` (first: ${Object.entries(first.scope).map(([k, v]) => `${k}=${v}`).join(' ')} expected ${first.expected}, actual ${first.actual}, difference ${first.difference} ${first.unit})` : '';
    const summary = r.status === 'error' ? `${what} rule ${r.rule} could not run: ${r.error ?? ''}` : `${what} rule ${r.rule}: ${r.discrepancies} of ${r.checked} checks differ${diff}`;
    return { subject: r.rule, tenant: first?.scope.tenant ?? '', summary, details: { rule: r.rule, status: r.status, day: r.day, ranAt: r.ranAt, run: r.run, checked: r.checked, discrepancies: r.discrepancies, results: r.results.slice(0, 10), ...(r.error ? { error: r.error } : {}) } };
  });
}

/**
 * Reconciliation: every named rule of the `reconcile` job (docs/audit.md) whose latest result is
 * a discrepancy or an error (subject: the rule; resolved when a later run of it is ok), and the
 * `reconcile-rollups` runs that found rollups disagreeing with raw events (subject: the run's day).
 */
export const reconciliationSource: Source = async (_rule, ctx) => {
  if (!ctx.runner) return [];
  const runs = await ctx.runner.list({ job: 'reconcile-rollups', status: 'succeeded', limit: 60 });
  const rollups = runs
    .filter((r) => Number(r.output?.discrepancies ?? 0) > 0)
    .map((r): Finding => ({ subject: r.key, tenant: '', summary: `reconciliation ${r.range}: ${String(r.output!.discrepancies)} meter/tenant totals differ between raw events and rollups`, details: { run: r.id, day: r.range, discrepancies: r.output!.discrepancies, details: r.output!.details } }));
  return [...rollups, ...(await failingRules(ctx.runner, [RECONCILE_JOB], 'reconciliation'))];
};

/** Canaries: each `canary.*` check whose latest run failed (a refused batch, an event missing from raw, rollups, queries or live counters). */
export const canarySource: Source = async (_rule, ctx) => (ctx.runner ? failingRules(ctx.runner, [CANARY_JOB], 'canary') : []);

/** Job keys whose latest run in the last day failed (a later success resolves it). */
export const jobFailedSource: Source = async (_rule, ctx, now) => {
  if (!ctx.runner) return [];
  const latest = new Map<string, Awaited<ReturnType<NonNullable<typeof ctx.runner>['list']>>[number]>();
  for (const r of await ctx.runner.list({ limit: 1000 })) if (!latest.has(r.key)) latest.set(r.key, r);
  return [...latest.values()]
    .filter((r) => r.status === 'failed' && (r.endedAt ?? r.startedAt) >= now - MICROS_PER_DAY)
    .map((r) => ({ subject: r.key, tenant: '', summary: `job ${r.key} failed (attempt ${r.attempt} on ${r.node}): ${r.error ?? ''}`, details: { run: r.id, job: r.job, range: r.range, error: r.error, endedAt: r.endedAt === null ? null : formatMicros(r.endedAt) } }));
};

/** Distributed profile: events published but not yet committed by the workers (tally_pipeline_consumer_lag). */
export const consumerLagSource: Source = async (rule, ctx) => {
  const gauge = ctx.metrics?.getSingleMetric('tally_pipeline_consumer_lag');
  if (!gauge) return [];
  const values = (await gauge.get()).values;
  const total = values.reduce((s, v) => s + v.value, 0);
  if (total <= rule.maxLag) return [];
  return [{ subject: 'pipeline', tenant: '', summary: `consumer lag ${total} events (over ${rule.maxLag})`, details: { total, partitions: Object.fromEntries(values.map((v) => [String(v.labels.partition), v.value])) } }];
};
