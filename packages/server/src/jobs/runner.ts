import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { Counter, Gauge, type Registry } from 'prom-client';
import { TallyError } from '../errors/registry.ts';
import type { Clock } from '../shared/time.ts';
import { runKey, type JobDefinition, type JobRun } from './job.ts';
import type { LeaseStore } from './lease-store.ts';
import type { JobRunRepo, RunFilter } from './run-repo.ts';

/** Options of the runner. */
export interface JobRunnerOptions {
  /** This node's name in run records (host:pid by default). */
  node: string;
  clock: Clock;
  /** Lease time; renewed every third of it while a run works (default 30 s). */
  leaseTtlMs?: number;
  /** Prometheus registry for `tally_job_runs_total` and `tally_job_last_success_seconds`. */
  metrics?: Registry;
}

let runSeq = 0;

/**
 * A run id that sorts by creation (wall-clock milliseconds, then a per-process counter, then
 * randomness): runs started in the same microsecond of an injected clock still list in order.
 */
function newRunId(): string {
  const seq = (runSeq = (runSeq + 1) % 1296);
  return `job_${Date.now().toString(36).padStart(9, '0')}${seq.toString(36).padStart(2, '0')}${randomUUID().replace(/-/g, '').slice(0, 10)}`;
}

/** What asking for a run gave: the run (new, or the earlier one that succeeded), or why none ran. */
export type RunOutcome = { ran: true; run: JobRun } | { ran: false; reason: 'done' | 'busy'; run?: JobRun };

/**
 * The one job runner of the batch layer (DESIGN.md): jobs run on a cron schedule or on demand,
 * each run is recorded, a key that succeeded is never run again, a run that crashed (recorded
 * as running, its lease lapsed) is run again as the next attempt, and a job runs on one node at
 * a time under a lease whose fencing token the job checks before it commits.
 */
export class JobRunner {
  private readonly jobs = new Map<string, JobDefinition>();
  private readonly crons: Cron[] = [];
  private readonly active = new Set<Promise<unknown>>();
  private readonly runs?: Counter<'job' | 'status'>;
  private readonly lastSuccess?: Gauge<'job'>;
  private readonly ttl: number;

  constructor(
    private readonly repo: JobRunRepo,
    private readonly leases: LeaseStore,
    private readonly opts: JobRunnerOptions,
  ) {
    this.ttl = opts.leaseTtlMs ?? 30_000;
    if (opts.metrics) {
      this.runs = new Counter({ name: 'tally_job_runs_total', help: 'Job runs by job and outcome', labelNames: ['job', 'status'], registers: [opts.metrics] });
      this.lastSuccess = new Gauge({ name: 'tally_job_last_success_seconds', help: 'Unix time of the last successful run per job', labelNames: ['job'], registers: [opts.metrics] });
    }
  }

  /** Adds a job (names are unique). */
  register(def: JobDefinition): void {
    if (this.jobs.has(def.name)) throw new Error(`job "${def.name}" is registered twice`);
    if (def.schedule !== undefined) new Cron(def.schedule, { paused: true }).stop(); // throws on a bad expression now, not at the first tick
    this.jobs.set(def.name, def);
  }

  /** The registered jobs. */
  definitions(): JobDefinition[] {
    return [...this.jobs.values()];
  }

  /** Starts the schedules and re-runs the runs that crashed (recorded as running, lease lapsed). */
  async start(): Promise<void> {
    for (const def of this.jobs.values()) {
      if (def.schedule === undefined) continue;
      this.crons.push(new Cron(def.schedule, { protect: true, timezone: 'UTC' }, () => {
        void this.track(this.run(def.name, def.rangeAt?.(this.opts.clock.nowMicros()) ?? ''));
      }));
    }
    for (const r of await this.repo.list({ status: 'running', limit: 1000 })) if (this.jobs.has(r.job)) void this.track(this.run(r.job, r.range));
  }

  /** Runs `job` over `range` now, unless that key succeeded already or another node runs the job. */
  async run(job: string, range = ''): Promise<RunOutcome> {
    const def = this.jobs.get(job);
    if (!def) throw new TallyError('NOT_FOUND', `no job "${job}" (jobs: ${[...this.jobs.keys()].join(', ') || 'none'})`);
    const key = runKey(job, range);
    const holder = `${this.opts.node}/${randomUUID()}`;
    const fence = await this.leases.acquire(job, holder, this.ttl);
    if (fence === null) return { ran: false, reason: 'busy' };
    let lost = false;
    const renew = setInterval(() => {
      this.leases.renew(job, holder, fence, this.ttl).then(
        (ok) => (lost ||= !ok),
        () => (lost = true),
      );
    }, Math.max(10, Math.floor(this.ttl / 3)));
    try {
      const [last] = await this.repo.list({ key, limit: 1 });
      if (last?.status === 'succeeded') return { ran: false, reason: 'done', run: last };
      const now = this.opts.clock.nowMicros();
      const run: JobRun = { id: newRunId(), job, key, range, attempt: (last?.attempt ?? 0) + 1, status: 'running', fence, node: this.opts.node, startedAt: now, endedAt: null, output: null, error: null };
      // A run left "running" by a crash is closed as failed before its next attempt starts.
      if (last?.status === 'running') await this.repo.finish(last, { status: 'failed', endedAt: now, output: null, error: `did not finish (the node stopped or lost its lease); attempt ${run.attempt} took over` });
      await this.repo.insert(run);
      const assertHeld = async () => {
        if (lost || !(await this.leases.isCurrent(job, fence))) throw new Error(`lost the lease of job "${job}" (fence ${fence}): another node may be running it; nothing committed`);
      };
      try {
        const output = await def.run({ key, range, attempt: run.attempt, now, assertHeld });
        const done = { status: 'succeeded' as const, endedAt: this.opts.clock.nowMicros(), output, error: null };
        await this.repo.finish(run, done);
        this.runs?.inc({ job, status: 'succeeded' });
        this.lastSuccess?.set({ job }, done.endedAt / 1e6);
        return { ran: true, run: { ...run, ...done } };
      } catch (err) {
        const failed = { status: 'failed' as const, endedAt: this.opts.clock.nowMicros(), output: null, error: (err as Error).message };
        await this.repo.finish(run, failed);
        this.runs?.inc({ job, status: 'failed' });
        return { ran: true, run: { ...run, ...failed } };
      }
    } finally {
      clearInterval(renew);
      await this.leases.release(job, holder, fence).catch(() => undefined);
    }
  }

  /** Recorded runs, newest first. */
  list(filter: RunFilter): Promise<JobRun[]> {
    return this.repo.list(filter);
  }

  private track<T>(p: Promise<T>): Promise<T | undefined> {
    const q = p.catch(() => undefined);
    this.active.add(q);
    void q.finally(() => this.active.delete(q));
    return q;
  }

  /** Stops the schedules and waits for the runs in progress. */
  async stop(): Promise<void> {
    for (const c of this.crons.splice(0)) c.stop();
    await Promise.all([...this.active]);
  }
}
