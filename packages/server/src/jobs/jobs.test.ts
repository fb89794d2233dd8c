import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DuckDbJobRunRepo } from './duckdb/duckdb-run-repo.ts';
import { runLeaseContract } from './lease-contract.ts';
import { MemoryLeaseStore } from './memory/memory-lease-store.ts';
import { runJobRunRepoContract } from './run-repo-contract.ts';
import { JobRunner } from './runner.ts';

const duckRepo = async () => DuckDbJobRunRepo.open(await (await DuckDBInstance.create(':memory:')).connect());
runLeaseContract('memory', async () => new MemoryLeaseStore());
runJobRunRepoContract('DuckDB', duckRepo);

const clock = { nowMicros: () => Date.now() * 1000 };

describe('JobRunner (embedded: DuckDB runs, memory leases)', () => {
  it('runs a key once: a succeeded key is never run again; a failed one is retried as the next attempt', async () => {
    const runner = new JobRunner(await duckRepo(), new MemoryLeaseStore(), { node: 'n1', clock });
    let calls = 0;
    let fail = true;
    runner.register({ name: 'invoice', description: 'test', run: async (ctx) => {
      calls++;
      if (fail) throw new Error(`attempt ${ctx.attempt} failed`);
      await ctx.assertHeld();
      return { invoices: 2, range: ctx.range };
    } });
    const first = await runner.run('invoice', '2026-11');
    expect(first).toMatchObject({ ran: true, run: { status: 'failed', attempt: 1, error: 'attempt 1 failed', key: 'invoice:2026-11' } });
    fail = false;
    const second = await runner.run('invoice', '2026-11');
    expect(second).toMatchObject({ ran: true, run: { status: 'succeeded', attempt: 2, output: { invoices: 2, range: '2026-11' } } });
    expect(await runner.run('invoice', '2026-11')).toMatchObject({ ran: false, reason: 'done', run: { attempt: 2 } });
    expect(calls).toBe(2);
    expect((await runner.list({ job: 'invoice' })).map((r) => [r.attempt, r.status])).toEqual([[2, 'succeeded'], [1, 'failed']]);
    await expect(runner.run('nope')).rejects.toThrow(/no job "nope"/);
  });

  it('re-runs a run that crashed (recorded as running) at start, closing the crashed one as failed', async () => {
    const repo = await duckRepo();
    await repo.insert({ id: 'job_crashed', job: 'archive', key: 'archive:2026-12-01', range: '2026-12-01', attempt: 1, status: 'running', fence: 1, node: 'dead', startedAt: 1, endedAt: null, output: null, error: null });
    const runner = new JobRunner(repo, new MemoryLeaseStore(), { node: 'n2', clock });
    const seen: string[] = [];
    runner.register({ name: 'archive', description: 'test', run: async (ctx) => (seen.push(`${ctx.range}#${ctx.attempt}`), { partitions: 1 }) });
    await runner.start();
    await runner.stop();
    expect(seen).toEqual(['2026-12-01#2']);
    expect((await repo.list({ key: 'archive:2026-12-01' })).map((r) => [r.attempt, r.status, r.node])).toEqual([[2, 'succeeded', 'n2'], [1, 'failed', 'dead']]);
  });

  it('one run of a job at a time; a run whose lease lapsed cannot commit', async () => {
    const leases = new MemoryLeaseStore();
    const runner = new JobRunner(await duckRepo(), leases, { node: 'n1', clock, leaseTtlMs: 60_000 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let committed = 0;
    runner.register({ name: 'slow', description: 'test', run: async (ctx) => {
      await gate;
      await ctx.assertHeld();
      committed++;
      return {};
    } });
    const a = runner.run('slow', 'a');
    await new Promise((r) => setTimeout(r, 20));
    expect(await runner.run('slow', 'b')).toEqual({ ran: false, reason: 'busy' });
    // The lease is taken over (as after a pause longer than its time): the first run must not commit.
    const holder = [...(leases as unknown as { leases: Map<string, { until: number }> }).leases.values()][0]!;
    holder.until = 0;
    expect(await leases.acquire('slow', 'intruder', 60_000)).not.toBeNull();
    release();
    expect(await a).toMatchObject({ ran: true, run: { status: 'failed', error: expect.stringMatching(/lost the lease/) } });
    expect(committed).toBe(0);
  });

  it('refuses a bad cron expression when the job is registered', async () => {
    const runner = new JobRunner(await duckRepo(), new MemoryLeaseStore(), { node: 'n1', clock });
    expect(() => runner.register({ name: 'bad', description: 'x', schedule: 'every tuesday', run: async () => ({}) })).toThrow();
  });
});
