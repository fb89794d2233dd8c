import { z } from 'zod';
import { TallyError } from '../../errors/registry.ts';
import { ERASURE_STATUSES, type ErasureRecord } from '../../privacy/erasure/erasure.ts';
import type { ErasureService } from '../../privacy/erasure/service.ts';
import { formatMicros } from '../../shared/time.ts';
import type { Router } from '../route.ts';

const erasureView = z.object({
  id: z.string(),
  status: z.enum(ERASURE_STATUSES),
  requestedBy: z.string().describe('the key that asked'),
  requestedAt: z.string(),
  completedAt: z.string().nullable(),
  rows: z
    .object({ events: z.number(), uniqueFacts: z.number(), archiveRows: z.number(), archivePartitions: z.number() })
    .nullable()
    .describe('rows changed per place: raw events (actor removed), unique facts (removed), archive rows and partitions (rewritten)'),
  error: z.string().nullable(),
});

function view(r: ErasureRecord): z.infer<typeof erasureView> {
  return { id: r.id, status: r.status, requestedBy: r.requestedBy, requestedAt: formatMicros(r.requestedAt), completedAt: r.completedAt === null ? null : formatMicros(r.completedAt), rows: r.rows, error: r.error };
}

/** End-user erasure (admin): request one, read its completion. `service` is undefined where the profile lacks it. */
export function erasureRoutes(router: Router, service: ErasureService | undefined): void {
  const need = (): ErasureService => {
    if (!service) throw new TallyError('UNSUPPORTED_PROFILE', 'erasure runs in the embedded profile only so far (docs/privacy.md)');
    return service;
  };
  router.add(
    {
      method: 'POST',
      url: '/v1/erasures',
      summary: 'Erase one end user: the actor is removed from raw events, unique-value facts and the archive (a job; counts and sums stay)',
      tag: 'privacy',
      scope: 'admin',
      body: z.object({ actor: z.string().describe('the raw end-user id, as sent in events (hashed here with the current and previous secrets, never stored)') }).strict(),
      responses: { 202: { description: 'Recorded; its job runs now. Poll GET /v1/erasures/{id}', schema: erasureView } },
    },
    async ({ body, principal, reply }) => {
      const r = await need().request(body.actor, principal?.keyId ?? 'unknown');
      void reply.code(202);
      return view(r);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/erasures/:id', summary: 'An erasure: status, completion time, rows changed per place', tag: 'privacy', scope: 'admin', params: z.object({ id: z.string().max(100) }), responses: { 200: { description: 'The erasure', schema: erasureView } } },
    async ({ params }) => view(await need().get(params.id)),
  );
}
