import { z } from 'zod';
import { requireScope, type KeyService } from '../../auth/keys.ts';
import { TallyError, type ErrorCode } from '../../errors/registry.ts';
import type { IngestService, IngestSummary, Receipt } from '../../ingest/ingest-service.ts';
import type { TallyMetrics } from '../../ops/metrics.ts';
import type { Router } from '../route.ts';

/**
 * `POST /v1/batch`: Segment's batch format (what `@segment/analytics-node` sends), so an app that
 * already uses a Segment library can point it at Tally unchanged. Each `track` call becomes one
 * CloudEvent and goes through the same IngestService as `POST /v1/events` (validation, actor
 * hashing, dedupe, per-event receipts). The mapping is documented in docs/segment.md:
 *
 *   messageId                                  → id (the idempotency key; required)
 *   event                                      → type (verbatim: meters use the event name)
 *   context.groupId, else properties.tenant     → subject (the tenant; required)
 *   userId, else anonymousId                    → actor (HMAC-hashed at ingest)
 *   timestamp, else originalTimestamp, else now → time
 *   properties                                 → data
 *   source                                     → `urn:tally:segment`
 *
 * Auth: Segment's HTTP Basic with the write key as the username (the key is a Tally API key with
 * the `ingest` scope), or `Authorization: Bearer <key>`.
 */

/** CloudEvents `source` of events that came through the Segment endpoint. */
export const SEGMENT_SOURCE = 'urn:tally:segment';

/** What the route needs from the wiring (a subset of HttpDeps). */
export interface SegmentDeps {
  keys: KeyService;
  ingest: IngestService;
  metrics: TallyMetrics;
  maxEventsPerRequest: number;
}

const receipt = z.object({
  id: z.string().nullable().describe('the call’s messageId'),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  conflict: z.boolean().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});
const answer = z.object({ success: z.literal(true), accepted: z.number(), duplicates: z.number(), rejected: z.number(), receipts: z.array(receipt) });
const segmentCall = z
  .object({
    type: z.string().describe('only `track` calls are ingested; other calls are rejected per item'),
    messageId: z.string().describe('→ id'),
    event: z.string().describe('→ type'),
    userId: z.string().optional().describe('→ actor'),
    anonymousId: z.string().optional().describe('→ actor when there is no userId'),
    timestamp: z.string().optional().describe('→ time'),
    properties: z.record(z.string(), z.unknown()).optional().describe('→ data; `tenant` is the fallback tenant'),
    context: z.object({ groupId: z.string().optional().describe('→ tenant') }).loose().optional(),
  })
  .loose();
const body = z.object({ batch: z.array(segmentCall), context: z.record(z.string(), z.unknown()).optional() }).loose();

/** The API key in `Authorization`: Basic (write key as username, Segment's way) or Bearer. */
export function keyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme !== 'basic' || value === '') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  return user || undefined;
}

type Rejection = Extract<Receipt, { status: 'rejected' }>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** CloudEvent attribute names in ingest messages, renamed to the Segment fields they came from. */
const FIELD_NAMES: Record<string, string> = { id: 'messageId', type: 'event', subject: 'context.groupId', time: 'timestamp', data: 'properties', actor: 'userId' };
const renameFields = (message: string) => message.replace(/(^|; )(id|type|subject|time|data|actor)(?=[.:])/g, (_, sep: string, f: string) => sep + (FIELD_NAMES[f] ?? f));

/** One Segment call as a CloudEvent, or why it cannot be one. */
export function segmentToCloudEvent(call: unknown, batchContext: unknown, receivedAt: string): Record<string, unknown> | Rejection {
  const id = isObject(call) && typeof call.messageId === 'string' && call.messageId.length > 0 ? call.messageId : null;
  const reject = (message: string, code: ErrorCode = 'VALIDATION_FAILED'): Rejection => ({ id, status: 'rejected', code, message });
  if (!isObject(call)) return reject('(call): must be a JSON object');
  if (call.type !== 'track') return reject(`type: only "track" calls are usage events (got ${JSON.stringify(call.type ?? null)})`);
  if (id === null) return reject('messageId: required, a non-empty string (it is the idempotency key)');
  if (typeof call.event !== 'string' || call.event.length === 0) return reject('event: required, a non-empty string');
  if (call.properties !== undefined && !isObject(call.properties)) return reject('properties: must be a JSON object');
  const properties = (call.properties ?? {}) as Record<string, unknown>;
  const context = isObject(call.context) ? call.context : isObject(batchContext) ? batchContext : {};
  const tenant = text(context.groupId) ?? text(properties.tenant);
  if (tenant === undefined) return reject('context.groupId: required, the tenant (or properties.tenant)');
  const actor = text(call.userId) ?? text(call.anonymousId);
  const time = call.timestamp ?? call.originalTimestamp ?? receivedAt;
  const ce: Record<string, unknown> = { specversion: '1.0', id, source: SEGMENT_SOURCE, type: call.event, subject: tenant, time, data: properties };
  if (actor !== undefined) ce.actor = actor;
  return ce;
}

/** Registers `POST /v1/batch` (Segment's batch/track format). */
export function segmentRoutes(router: Router, d: SegmentDeps): void {
  router.add(
    {
      method: 'POST',
      url: '/v1/batch',
      summary: 'Ingest Segment track calls (analytics-node batch format); auth: Basic with the API key as username, or Bearer',
      tag: 'events',
      scope: null, // checked below: Segment libraries send Basic auth, which the router does not read
      body,
      validateBody: false,
      responses: { 200: { description: 'Receipts per call, in request order (`success: true` is what Segment libraries expect)', schema: answer } },
    },
    async ({ req, body: raw }) => {
      requireScope(d.keys.verify(keyFromAuthorization(req.headers.authorization)), 'ingest');
      const end = d.metrics.ingestLatency.startTimer();
      if (!isObject(raw) || !Array.isArray(raw.batch)) throw new TallyError('VALIDATION_FAILED', 'the body must be a Segment batch: { "batch": [ { "type": "track", … } ] }');
      const calls = raw.batch as unknown[];
      if (calls.length > d.maxEventsPerRequest) throw new TallyError('PAYLOAD_TOO_LARGE', `at most ${d.maxEventsPerRequest} calls per request (got ${calls.length})`);
      if (calls.length === 0) throw new TallyError('VALIDATION_FAILED', 'the batch is empty');

      const receivedAt = new Date().toISOString();
      const receipts: Receipt[] = new Array<Receipt>(calls.length);
      const events: Record<string, unknown>[] = [];
      const positions: number[] = [];
      calls.forEach((call, i) => {
        const r = segmentToCloudEvent(call, raw.context, receivedAt);
        if (r.status === 'rejected') receipts[i] = r as Rejection;
        else {
          events.push(r);
          positions.push(i);
        }
      });
      let ingested: IngestSummary | undefined;
      if (events.length > 0) {
        try {
          ingested = await d.ingest.ingest(events);
        } catch (err) {
          if (err instanceof TallyError) throw err;
          throw new TallyError('STORE_UNAVAILABLE', `the store could not commit the batch: ${(err as Error).message}`);
        }
        ingested.receipts.forEach((r, k) => {
          receipts[positions[k] as number] = r.status === 'rejected' ? { ...r, message: renameFields(r.message) } : r;
        });
      }
      const summary = { success: true as const, accepted: 0, duplicates: 0, rejected: 0, receipts };
      for (const r of receipts) {
        if (r.status === 'accepted') summary.accepted++;
        else if (r.status === 'duplicate') summary.duplicates++;
        else {
          summary.rejected++;
          d.metrics.events.inc({ outcome: 'rejected', code: r.code });
        }
      }
      d.metrics.events.inc({ outcome: 'accepted', code: '' }, summary.accepted);
      d.metrics.events.inc({ outcome: 'duplicate', code: '' }, summary.duplicates);
      end();
      // As on /v1/events: a batch with nothing usable is an error (analytics-node then reports the
      // calls as failed, without retrying); a mixed batch answers 200 with every receipt.
      if (summary.rejected === calls.length) throw new TallyError('VALIDATION_FAILED', `all ${calls.length} calls were rejected; see details.receipts`, { receipts });
      return summary;
    },
  );
}
