import { describe, expect, it } from 'vitest';
import type { JobRun } from './job.ts';
import type { JobRunRepo } from './run-repo.ts';

const run = (id: string, over: Partial<JobRun> = {}): JobRun => ({ id, job: 'invoice', key: 'invoice:2026-11', range: '2026-11', attempt: 1, status: 'running', fence: 7, node: 'n1', startedAt: 1_000, endedAt: null, output: null, error: null, ...over });

/** The contract every JobRunRepo passes (DuckDB and ClickHouse). `make` gives an empty repo. */
export function runJobRunRepoContract(name: string, make: () => Promise<JobRunRepo>): void {
  describe(`JobRunRepo contract: ${name}`, () => {
    it('records runs and their ends, lists newest first with filters', async () => {
      const repo = await make();
      try {
        const a = run('job_a');
        const b = run('job_b', { attempt: 2, startedAt: 2_000 });
        const c = run('job_c', { job: 'archive', key: "archive:it's \\ 🚀", range: "it's \\ 🚀", startedAt: 3_000 });
        for (const r of [a, b, c]) await repo.insert(r);
        await repo.finish(a, { status: 'failed', endedAt: 1_500, output: null, error: 'boom: "quoted"\nline' });
        await repo.finish(b, { status: 'succeeded', endedAt: 2_500, output: { invoices: 3, note: "o'k" }, error: null });
        expect((await repo.list({})).map((r) => r.id)).toEqual(['job_c', 'job_b', 'job_a']);
        expect(await repo.list({ key: 'invoice:2026-11', limit: 1 })).toEqual([{ ...b, status: 'succeeded', endedAt: 2_500, output: { invoices: 3, note: "o'k" } }]);
        expect((await repo.list({ status: 'failed' }))[0]).toEqual({ ...a, status: 'failed', endedAt: 1_500, error: 'boom: "quoted"\nline' });
        expect((await repo.list({ job: 'archive' }))[0]).toEqual(c);
        expect(await repo.list({ status: 'running' })).toEqual([c]);
        expect(await repo.list({ key: "x' OR '1'='1" })).toEqual([]);
      } finally {
        await repo.close();
      }
    });
  });
}
