import { randomUUID } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { JobDefinition, JobRun } from '../../jobs/job.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { formatMicros, type EpochMicros } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import { utcDay } from '../archive/archive-writer.ts';
import { previousUtcDay } from '../reconcile-rollups.ts';
import type { AccessLogSummary } from './access-log.ts';
import { ACCESS_LOG_RULE, checkAccessLog } from './access-log-rule.ts';
import { runRule, type ReconcileRule, type RuleSummary } from './rule.ts';

/** The job that runs every rule. */
export const RECONCILE_JOB = 'reconcile';

/** What one reconcile run recorded (its job run's output). */
export interface ReconcileOutput {
  day: string;
  asOf: string;
  discrepancies: number;
  rules: RuleSummary[];
}

/** A rule's latest result, with the run that produced it. */
export type LatestResult = RuleSummary & { day: string; ranAt: string; run: string };

/** Extra input of an on-demand run (not recorded in the range). */
interface Extra {
  rules?: string[];
  accessLog?: { summary: AccessLogSummary; tenant?: string };
}

/**
 * Reconciliation: named rules run by the `reconcile:<day>@<as-of>` job (daily at 00:45 UTC for
 * the day before, after the archive and the rollup check; on demand with `POST /v1/reconcile` or
 * `tally reconcile`). Each run is a job run whose output holds every rule's result, so results
 * are recorded in the profile's store like every run, seen by every node. Other jobs (canaries)
 * report rule results in the same output shape and are read alike.
 */
export class Reconciliation {
  private readonly extras = new Map<string, Extra>();
  private runner: JobRunner | undefined;

  constructor(
    private readonly rules: readonly ReconcileRule[],
    private readonly store: UsageStore,
    /** Jobs whose outputs carry `rules: RuleSummary[]` (this one, canaries). */
    private readonly resultJobs: readonly string[] = [RECONCILE_JOB],
  ) {}

  /** The rule names this node runs. */
  ruleNames(): string[] {
    return [...this.rules.map((r) => r.name), ACCESS_LOG_RULE];
  }

  /** Connects the runner (created after the jobs are registered). */
  attach(runner: JobRunner): void {
    this.runner = runner;
  }

  /** The `reconcile` job. */
  job(): JobDefinition {
    return {
      name: RECONCILE_JOB,
      description: 'every reconciliation rule over one UTC day (rollups vs raw, live counters, archive, invoices, SDK heartbeats); results on /v1/reconciliation',
      schedule: '45 0 * * *',
      rangeAt: (now) => `${previousUtcDay(now)}@${formatMicros(now)}`,
      run: async (ctx) => {
        const [day, asOf] = ctx.range.split('#')[0]!.split('@') as [string, string | undefined];
        const { from, to } = utcDay(day);
        const extra = this.extras.get(ctx.range) ?? {};
        this.extras.delete(ctx.range);
        const scope = { day, from, to, now: ctx.now };
        const rules: RuleSummary[] = [];
        for (const rule of this.rules) if (!extra.rules || extra.rules.includes(rule.name)) rules.push(await runRule(rule, scope));
        if (extra.accessLog) {
          const log = extra.accessLog;
          rules.push(await runRule({ name: ACCESS_LOG_RULE, description: `an access log (${log.summary.format}) vs the api.request events of its window`, check: () => checkAccessLog(this.store, log.summary, log.tenant ? { tenant: log.tenant } : {}) }, scope));
        }
        const output: ReconcileOutput = { day, asOf: asOf ?? formatMicros(ctx.now), discrepancies: rules.reduce((n, r) => n + r.discrepancies + (r.status === 'error' ? 1 : 0), 0), rules };
        return output as unknown as Record<string, unknown>;
      },
    };
  }

  /** Runs the rules (all, or `rules`) over `day` now, optionally with an access log; returns the run. */
  async runNow(day: string, now: EpochMicros, extra: Extra = {}): Promise<JobRun> {
    if (!this.runner) throw new Error('reconciliation is not attached to a job runner');
    utcDay(day);
    // Every on-demand run is new work (a check at another moment): its key carries the time and a nonce.
    const range = `${day}@${formatMicros(now)}#${randomUUID().slice(0, 8)}`;
    this.extras.set(range, extra);
    const r = await this.runner.run(RECONCILE_JOB, range);
    this.extras.delete(range);
    if (!r.run) throw new Error('the reconcile job is running on another node; try again when it finishes');
    return r.run;
  }

  /** The latest result of every rule (newest run first), from the recorded runs. */
  async latest(): Promise<LatestResult[]> {
    return this.runner ? latestRuleResults(this.runner, this.resultJobs) : [];
  }

  /** `/metrics`: discrepancies and last run time by rule (from the recorded runs, so every node agrees). */
  registerMetrics(registry: Registry): void {
    // A scrape must answer when the run records cannot be read (the store down, slow): the gauges
    // then keep their last values rather than fail /metrics.
    const latest = () => withinMs(this.latest(), 1000).catch(() => undefined);
    let pending: Promise<LatestResult[] | undefined> | undefined;
    const once = () => (pending ??= latest().finally(() => setTimeout(() => (pending = undefined), 0)));
    new Gauge({
      name: 'tally_reconciliation_discrepancies',
      help: 'Discrepancies found by the latest run of each reconciliation rule (an errored rule counts 1)',
      labelNames: ['rule'],
      registers: [registry],
      async collect() {
        const rules = await once();
        if (!rules) return;
        this.reset();
        for (const r of rules) this.set({ rule: r.rule }, r.discrepancies + (r.status === 'error' ? 1 : 0));
      },
    });
    new Gauge({
      name: 'tally_reconciliation_last_run_seconds',
      help: 'Unix time of the latest run of each reconciliation rule',
      labelNames: ['rule'],
      registers: [registry],
      async collect() {
        const rules = await once();
        if (!rules) return;
        this.reset();
        for (const r of rules) this.set({ rule: r.rule }, Date.parse(r.ranAt) / 1000);
      },
    });
  }
}

/**
 * The latest result of every rule reported by `jobs` (reconcile, canary), from their recorded
 * succeeded runs, sorted by rule name. Shared by the reconciliation API and the data-health
 * alert sources, so both see the same results on every node.
 */
export async function latestRuleResults(runner: Pick<JobRunner, 'list'>, jobs: readonly string[]): Promise<LatestResult[]> {
  const seen = new Map<string, LatestResult>();
  for (const job of jobs) {
    for (const run of await runner.list({ job, status: 'succeeded', limit: 200 })) {
      const out = run.output as Partial<ReconcileOutput> | null;
      for (const r of out?.rules ?? []) {
        const prev = seen.get(r.rule);
        const ranAt = formatMicros(run.endedAt ?? run.startedAt);
        if (!prev || prev.ranAt < ranAt) seen.set(r.rule, { ...r, day: out?.day ?? run.range, ranAt, run: run.id });
      }
    }
  }
  return [...seen.values()].sort((a, b) => (a.rule < b.rule ? -1 : 1));
}

/** `p`, or a rejection after `ms`. */
export function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}
