import { z } from 'zod';
import type { JobRunner } from '../../jobs/runner.ts';
import type { RetentionService } from '../../privacy/retention/service.ts';
import { formatMicros, type Clock } from '../../shared/time.ts';
import type { Router } from '../route.ts';

const tierPolicy = z.object({ tier: z.string(), days: z.number().nullable(), cutoff: z.string().nullable(), heldFrom: z.string().nullable() });
const tierDrop = z.object({ tier: z.string(), horizon: z.number(), horizonAt: z.string(), rows: z.number(), partitions: z.number(), ledgered: z.number().optional() });

/** Retention policy, preview and run (admin; docs/privacy.md). */
export function retentionRoutes(router: Router, d: { service: RetentionService; runner: JobRunner; clock: Clock }): void {
  router.add(
    {
      method: 'GET',
      url: '/v1/retention',
      summary: 'The retention policy per tier (days, what a run now would delete before) and where each tier of the store starts',
      tag: 'privacy',
      scope: 'admin',
      responses: { 200: { description: 'The policy', schema: z.object({ tiers: z.array(tierPolicy), ledgerDays: z.number(), schedule: z.string() }) } },
    },
    async () => d.service.policy(d.clock.nowMicros()),
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/retention/run',
      summary: 'Preview (`dryRun`, deletes nothing) or run the retention job now (as the job `retention`, under its lease)',
      tag: 'privacy',
      scope: 'admin',
      body: z.object({ dryRun: z.boolean().default(false) }).strict(),
      responses: {
        200: {
          description: 'The preview, or the recorded run',
          schema: z.object({ dryRun: z.boolean(), preview: z.object({ now: z.string(), tiers: z.array(tierDrop), others: z.record(z.string(), z.unknown()), bytesBefore: z.number() }).optional(), ran: z.boolean().optional(), reason: z.string().optional(), run: z.record(z.string(), z.unknown()).optional() }),
        },
      },
    },
    async ({ body }) => {
      const now = d.clock.nowMicros();
      if (body.dryRun) {
        const r = await d.service.run(now, true);
        return { dryRun: true, preview: { now: r.now, tiers: r.tiers, others: r.others, bytesBefore: r.bytesBefore } };
      }
      // A range of its own per on-demand run: the daily key may have succeeded already today.
      const o = await d.runner.run('retention', `manual-${formatMicros(now)}`);
      const run = o.run && { key: o.run.key, status: o.run.status, node: o.run.node, output: o.run.output, error: o.run.error };
      return { dryRun: false, ran: o.ran, ...(o.ran ? {} : { reason: o.reason }), ...(run ? { run } : {}) };
    },
  );
}
