import { z } from 'zod';
import { RUN_STATUSES, type JobRun } from '../../jobs/job.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { formatMicros } from '../../shared/time.ts';
import type { Router } from '../route.ts';

const runView = z.object({
  id: z.string(),
  job: z.string(),
  key: z.string(),
  range: z.string(),
  attempt: z.number(),
  status: z.enum(RUN_STATUSES),
  fence: z.number().describe('fencing token of the lease it ran under'),
  node: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  output: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
});

function view(r: JobRun): z.infer<typeof runView> {
  return { ...r, startedAt: formatMicros(r.startedAt), endedAt: r.endedAt === null ? null : formatMicros(r.endedAt) };
}

/** The batch layer's jobs: definitions, recorded runs, a run on demand (admin). */
export function jobRoutes(router: Router, runner: JobRunner): void {
  router.add(
    {
      method: 'GET',
      url: '/v1/jobs',
      summary: 'Jobs of the batch layer and their recorded runs, newest first',
      tag: 'jobs',
      scope: 'admin',
      query: z.object({ job: z.string().optional(), key: z.string().optional(), status: z.enum(RUN_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }).strict(),
      responses: { 200: { description: 'Jobs and runs', schema: z.object({ jobs: z.array(z.object({ name: z.string(), description: z.string(), schedule: z.string().nullable() })), runs: z.array(runView) }) } },
    },
    async ({ query }) => ({
      jobs: runner.definitions().map((j) => ({ name: j.name, description: j.description, schedule: j.schedule ?? null })),
      runs: (await runner.list(query)).map(view),
    }),
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/jobs/:name/run',
      summary: 'Run a job over a range now (waits for it); a range that succeeded before is not run again',
      tag: 'jobs',
      scope: 'admin',
      params: z.object({ name: z.string() }),
      body: z.object({ range: z.string().max(200).default('') }).strict(),
      responses: {
        200: { description: 'The run: new (`ran: true`), or the earlier success (`reason: "done"`), or none because another node runs the job (`reason: "busy"`)', schema: z.object({ ran: z.boolean(), reason: z.enum(['done', 'busy']).optional(), run: runView.optional() }) },
      },
    },
    async ({ params, body }) => {
      const o = await runner.run(params.name, body.range);
      return o.ran ? { ran: true, run: view(o.run) } : { ran: false, reason: o.reason, ...(o.run ? { run: view(o.run) } : {}) };
    },
  );
}
