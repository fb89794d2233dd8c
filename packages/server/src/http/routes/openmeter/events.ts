import { z } from 'zod';
import { TallyError, type ErrorCode } from '../../../errors/registry.ts';
import type { IngestService } from '../../../ingest/ingest-service.ts';
import type { TallyMetrics } from '../../../ops/metrics.ts';
import type { Router } from '../../route.ts';
import { ingestCounted } from '../events.ts';
import { openMeterEventSchema } from './schemas.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An OpenMeter CloudEvent as Tally's ingest takes it: a null or absent `time` is left out (the
 * receive time is used), a null or absent `data` is `{}`, a null `datacontenttype` or
 * `dataschema` is dropped. Anything else goes through unchanged, so ingest validates it as
 * it validates `/v1/events`.
 */
export function fromOpenMeterEvent(e: unknown): unknown {
  if (!isObject(e)) return e;
  const out: Record<string, unknown> = { ...e };
  for (const k of ['time', 'datacontenttype', 'dataschema']) if (out[k] === null) delete out[k];
  if (out.data === null || out.data === undefined) out.data = {};
  return out;
}

/**
 * `POST /api/v1/events`: a CloudEvent or a batch (`application/cloudevents+json`,
 * `application/cloudevents-batch+json` or `application/json`), answered 204 once every event is
 * stored (or was already: a re-sent event is counted once). When some events are rejected the
 * answer is a 400 problem whose `error.details.receipts` says which (one receipt per event, in request
 * order) — and the valid events of the batch are stored all the same: re-sending the whole batch
 * after fixing the rejected ones is safe, the stored ones come back as duplicates.
 */
export function openMeterEventRoutes(router: Router, ingest: IngestService, metrics: TallyMetrics, maxEvents: number): void {
  router.add(
    {
      method: 'POST',
      url: '/api/v1/events',
      summary: 'OpenMeter: ingest CloudEvents (single or batch); 204, or a 400 problem naming the rejected events',
      tag: 'openmeter',
      scope: 'ingest',
      body: z.union([openMeterEventSchema, z.array(openMeterEventSchema)]),
      validateBody: false,
      responses: { 204: { description: 'Every event is stored (re-sent ones are counted once)' } },
    },
    async ({ body, reply }) => {
      const end = metrics.ingestLatency.startTimer();
      if (!Array.isArray(body) && !isObject(body)) throw new TallyError('VALIDATION_FAILED', 'the body must be a CloudEvent object or an array of them');
      const events = Array.isArray(body) ? (body as unknown[]) : [body];
      if (events.length > maxEvents) throw new TallyError('PAYLOAD_TOO_LARGE', `at most ${maxEvents} events per request (got ${events.length})`);
      if (events.length === 0) throw new TallyError('VALIDATION_FAILED', 'the batch is empty');
      const summary = await ingestCounted(ingest, metrics, events.map(fromOpenMeterEvent));
      end();
      if (summary.rejected > 0) {
        const rejected = summary.receipts.filter((r) => r.status === 'rejected');
        const codes = new Set(rejected.map((r) => r.code));
        const code: ErrorCode = codes.size === 1 ? rejected[0]!.code : 'VALIDATION_FAILED';
        const stored = events.length - summary.rejected;
        const first = `${rejected[0]!.id === null ? 'an event' : `event "${rejected[0]!.id}"`}: ${rejected[0]!.message}`;
        const message =
          events.length === 1 ? rejected[0]!.message : `${summary.rejected} of ${events.length} events were rejected (first: ${first}); the other ${stored} are stored — see error.details.receipts`;
        throw new TallyError(code, message, { receipts: summary.receipts });
      }
      return reply.code(204).send();
    },
  );
}
