import { MICROS_PER_DAY, formatMicros } from '../../shared/time.ts';
import type { Finding } from '../alert.ts';
import type { Source } from './context.ts';

/** Reconciliation runs (audit/reconcile-rollups.ts) that found rollups disagreeing with raw events. */
export const reconciliationSource: Source = async (_rule, ctx) => {
  if (!ctx.runner) return [];
  const runs = await ctx.runner.list({ job: 'reconcile-rollups', status: 'succeeded', limit: 60 });
  return runs
    .filter((r) => Number(r.output?.discrepancies ?? 0) > 0)
    .map((r): Finding => ({ subject: r.key, tenant: '', summary: `reconciliation ${r.range}: ${String(r.output!.discrepancies)} meter/tenant totals differ between raw events and rollups`, details: { run: r.id, day: r.range, discrepancies: r.output!.discrepancies, details: r.output!.details } }));
};

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
