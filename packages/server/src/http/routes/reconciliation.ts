import { z } from 'zod';
import type { AuditHttp } from '../../audit/setup.ts';
import { ACCESS_LOG_FORMATS } from '../../audit/reconcile/access-log.ts';
import { previousUtcDay } from '../../audit/reconcile-rollups.ts';
import { TallyError } from '../../errors/registry.ts';
import type { Router } from '../route.ts';

const result = z.object({ rule: z.string(), scope: z.record(z.string(), z.string()), status: z.enum(['ok', 'discrepancy']), expected: z.string(), actual: z.string(), difference: z.string().describe('actual − expected, exact'), unit: z.string() });
const summary = z.object({ rule: z.string(), description: z.string(), status: z.enum(['ok', 'discrepancy', 'error']), checked: z.number(), discrepancies: z.number(), results: z.array(result).describe('the discrepancies (at most 100)'), error: z.string().optional() });
const accessLog = z
  .object({
    name: z.string().max(500),
    format: z.enum(ACCESS_LOG_FORMATS),
    lines: z.number().int().min(0),
    unreadable: z.number().int().min(0),
    from: z.number().int().describe('first request, epoch µs'),
    to: z.number().int().describe('last request, epoch µs'),
    counts: z.array(z.object({ method: z.string().max(20), statusClass: z.string().max(5), requests: z.number().int().min(0) })).max(10_000),
  })
  .strict()
  .describe('an access log summarised by `tally reconcile --access-log` (requests per method and status class, and its window)');

/** `POST /v1/reconcile` and `GET /v1/reconciliation`. */
export function reconciliationRoutes(router: Router, audit: AuditHttp): void {
  const rec = audit.reconciliation;
  router.add(
    {
      method: 'POST',
      url: '/v1/reconcile',
      summary: 'Run the reconciliation rules now over a UTC day (default: yesterday), optionally against an access log; the run and its results are recorded',
      tag: 'audit',
      scope: 'admin',
      body: z.object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(), rules: z.array(z.string()).optional(), accessLog: accessLog.optional(), tenant: z.string().optional().describe('access log only: compare with this tenant\'s events') }).strict(),
      responses: { 200: { description: 'The recorded run', schema: z.object({ run: z.string(), day: z.string(), status: z.string(), discrepancies: z.number(), rules: z.array(summary) }) } },
    },
    async ({ body }) => {
      const now = audit.clock.nowMicros();
      const unknown = (body.rules ?? []).filter((r) => !rec.ruleNames().includes(r));
      if (unknown.length > 0) throw new TallyError('VALIDATION_FAILED', `rules: unknown ${unknown.join(', ')} (rules: ${rec.ruleNames().join(', ')})`, [{ path: 'body.rules', message: 'unknown rule' }]);
      const day = body.day ?? previousUtcDay(now);
      const rules = body.rules ?? (body.accessLog ? [] : undefined);
      const run = await rec.runNow(day, now, { ...(rules ? { rules } : {}), ...(body.accessLog ? { accessLog: { summary: body.accessLog, ...(body.tenant ? { tenant: body.tenant } : {}) } } : {}) });
      if (run.status !== 'succeeded') throw new TallyError('INTERNAL', `the reconcile run failed: ${run.error}`);
      const out = run.output as { day: string; discrepancies: number; rules: z.infer<typeof summary>[] };
      return { run: run.id, day: out.day, status: run.status, discrepancies: out.discrepancies, rules: out.rules };
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/v1/reconciliation',
      summary: 'The latest result of every reconciliation rule (and canary check), with its discrepancies',
      tag: 'audit',
      scope: 'read',
      responses: { 200: { description: 'Latest results by rule', schema: z.object({ rules: z.array(summary.extend({ day: z.string(), ranAt: z.string(), run: z.string() })) }) } },
    },
    async ({ principal }) => {
      if (principal?.tenant) throw new TallyError('FORBIDDEN', 'reconciliation results are server-wide: a key bound to a tenant may not read them');
      return { rules: await rec.latest() };
    },
  );
}
