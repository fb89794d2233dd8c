import { z } from 'zod';
import { cloudEventSchema } from '../../events/cloudevent-schema.ts';
import { TallyError } from '../../errors/registry.ts';
import type { IngestService, IngestSummary } from '../../ingest/ingest-service.ts';
import type { TallyMetrics } from '../../ops/metrics.ts';
import type { QuotaRateLimits } from '../../quota/rate-limits.ts';
import type { Router } from '../route.ts';

const receipt = z.object({
  id: z.string().nullable(),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  conflict: z.boolean().optional().describe('duplicate only: the stored event with this id has different content'),
  dropped: z.array(z.string()).optional().describe('data properties dropped before storage by privacy.allowedProperties'),
  time: z.string().optional().describe('accepted events sent without `time` only: the receive time they were stored with'),
  code: z.string().optional(),
  message: z.string().optional(),
});
const ingestAnswer = z.object({ accepted: z.number(), duplicates: z.number(), rejected: z.number(), receipts: z.array(receipt) });

/**
 * Ingests a request's events through the one IngestService and counts the outcomes in the
 * metrics (shared by `/v1/events` and OpenMeter's `/api/v1/events`). A store failure is
 * STORE_UNAVAILABLE: nothing of the request was acknowledged.
 */
export async function ingestCounted(ingest: IngestService, metrics: TallyMetrics, events: readonly unknown[]): Promise<IngestSummary> {
  let summary;
  try {
    summary = await ingest.ingest(events);
  } catch (err) {
    if (err instanceof TallyError) throw err;
    throw new TallyError('STORE_UNAVAILABLE', `the store could not commit the batch: ${(err as Error).message}`);
  }
  metrics.events.inc({ outcome: 'accepted', code: '' }, summary.accepted);
  metrics.events.inc({ outcome: 'duplicate', code: '' }, summary.duplicates);
  for (const r of summary.receipts) if (r.status === 'rejected') metrics.events.inc({ outcome: 'rejected', code: r.code });
  return summary;
}

/**
 * `POST /v1/events`: a single CloudEvent or a batch. 200 with a receipt per event; 400 when
 * every event of the request was rejected (the receipts are in `error.details.receipts`).
 */
export function eventRoutes(router: Router, ingest: IngestService, metrics: TallyMetrics, maxEvents: number, rateLimits?: QuotaRateLimits): void {
  router.add(
    {
      method: 'POST',
      url: '/v1/events',
      summary: 'Ingest CloudEvents (single or batch); one receipt per event',
      tag: 'events',
      scope: 'ingest',
      body: z.union([cloudEventSchema, z.array(cloudEventSchema)]),
      validateBody: false,
      responses: { 200: { description: 'Receipts, in request order', schema: ingestAnswer } },
    },
    async ({ body, principal, reply }) => {
      const end = metrics.ingestLatency.startTimer();
      const isBatch = Array.isArray(body);
      if (!isBatch && (body === null || typeof body !== 'object')) throw new TallyError('VALIDATION_FAILED', 'the body must be a CloudEvent object or an array of them');
      const events = isBatch ? (body as unknown[]) : [body];
      if (events.length > maxEvents) throw new TallyError('PAYLOAD_TOO_LARGE', `at most ${maxEvents} events per request (got ${events.length})`);
      if (events.length === 0) throw new TallyError('VALIDATION_FAILED', 'the batch is empty');
      // Plans may rate-limit ingest: refused whole before anything is stored; the SDK re-sends after Retry-After.
      const limited = rateLimits?.takeIngest(new Set(events.flatMap((e) => (typeof (e as { subject?: unknown })?.subject === 'string' ? [(e as { subject: string }).subject] : []))), principal?.keyId);
      if (limited) {
        void reply.headers(limited.headers);
        if (!limited.proceed) throw new TallyError(limited.status === 429 ? 'INGEST_RATE_LIMITED' : 'STORE_UNAVAILABLE', `${limited.body?.detail ?? 'ingest rate limit exceeded'}; nothing in this request was stored — re-send it after Retry-After`, { violated: limited.body?.violated });
      }
      const summary = await ingestCounted(ingest, metrics, events);
      end();
      if (summary.rejected === events.length) {
        const first = summary.receipts[0] as { code: 'VALIDATION_FAILED'; message: string };
        const code = isBatch ? 'VALIDATION_FAILED' : first.code;
        const message = isBatch ? `all ${events.length} events were rejected; see details.receipts` : first.message;
        throw new TallyError(code, message, { receipts: summary.receipts });
      }
      return summary;
    },
  );
}
