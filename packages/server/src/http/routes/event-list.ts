import { Readable } from 'node:stream';
import { z } from 'zod';
import { TallyError } from '../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import { formatMicros } from '../../shared/time.ts';
import type { EventListQuery, StoredEvent, UsageStore } from '../../store/port.ts';
import { csvCell } from '../csv.ts';
import { timeParam, type Router } from '../route.ts';

const eventView = z.object({ tenant: z.string(), id: z.string(), type: z.string(), source: z.string(), time: z.string(), ingestedAt: z.string(), actor: z.string().nullable().describe('HMAC of the end user'), data: z.record(z.string(), z.unknown()), contentHash: z.string() });
const view = (e: StoredEvent): z.infer<typeof eventView> => ({ tenant: e.tenant, id: e.id, type: e.type, source: e.source, time: formatMicros(e.time), ingestedAt: formatMicros(e.ingestedAt), actor: e.actor, data: e.data, contentHash: e.contentHash });

const query = z
  .object({
    tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional(),
    type: identifierSchema(IDENTIFIER_LIMITS.type).optional(),
    id: identifierSchema(IDENTIFIER_LIMITS.id).optional(),
    from: z.string().optional().describe('event time, RFC 3339, inclusive'),
    to: z.string().optional().describe('event time, exclusive'),
    ingestedFrom: z.string().optional().describe('ingest time, inclusive'),
    ingestedTo: z.string().optional().describe('ingest time, exclusive'),
    limit: z.coerce.number().int().min(1).max(1000).default(100).describe('events per page (JSON); NDJSON and CSV stream every page'),
    cursor: z.string().max(2000).optional().describe("the previous page's nextCursor"),
    format: z.enum(['json', 'ndjson', 'csv']).optional().describe('or Accept: application/x-ndjson / text/csv'),
  })
  .strict();

/** An opaque cursor: the last event's (time, tenant, id). */
function encodeCursor(e: StoredEvent): string {
  return Buffer.from(JSON.stringify([e.time, e.tenant, e.id])).toString('base64url');
}
function decodeCursor(c: string): [number, string, string] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && typeof v[2] === 'string') return v as [number, string, string];
  } catch {
    // reported below
  }
  throw new TallyError('VALIDATION_FAILED', 'cursor: not a cursor this API gave out', [{ path: 'query.cursor', message: 'invalid cursor' }]);
}

const CSV_HEAD = 'tenant,id,type,source,time,ingestedAt,actor,data,contentHash\n';
const csvLine = (e: StoredEvent) => [e.tenant, e.id, e.type, e.source].map((v) => csvCell(v, true)).join(',') + ',' + [formatMicros(e.time), formatMicros(e.ingestedAt), e.actor ?? '', csvCell(e.dataJson, true), e.contentHash].join(',') + '\n';

/** `GET /v1/events`: the raw event API (the event debugger), JSON pages or a stream. */
export function eventListRoutes(router: Router, store: UsageStore): void {
  router.add(
    {
      method: 'GET',
      url: '/v1/events',
      summary: 'Raw events as stored, filtered, in (time, tenant, id) order: JSON pages with a cursor, or every page streamed as NDJSON or CSV',
      tag: 'events',
      scope: 'read',
      query,
      responses: { 200: { description: 'A page of events', schema: z.object({ data: z.array(eventView), nextCursor: z.string().nullable() }) } },
    },
    async ({ query: q, principal, req, reply }) => {
      if (principal?.tenant && q.tenant !== undefined && q.tenant !== principal.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      const tenant = principal?.tenant ?? q.tenant;
      const base: Omit<EventListQuery, 'limit'> = {
        ...(tenant !== undefined ? { tenant } : {}),
        ...(q.type !== undefined ? { type: q.type } : {}),
        ...(q.id !== undefined ? { id: q.id } : {}),
      };
      for (const [k, v] of [['from', q.from], ['to', q.to], ['ingestedFrom', q.ingestedFrom], ['ingestedTo', q.ingestedTo]] as const) {
        const t = timeParam(v, `query.${k}`);
        if (t !== undefined) (base as Record<string, number>)[k] = t;
      }
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      const accept = req.headers.accept ?? '';
      const format = q.format ?? (accept.includes('application/x-ndjson') ? 'ndjson' : accept.includes('text/csv') ? 'csv' : 'json');
      if (format === 'json') {
        const page = await store.listEvents({ ...base, limit: q.limit, ...(after ? { after } : {}) });
        return { data: page.map(view), nextCursor: page.length === q.limit ? encodeCursor(page[page.length - 1]!) : null };
      }
      async function* stream(): AsyncIterable<string> {
        if (format === 'csv') yield CSV_HEAD;
        let from = after;
        for (;;) {
          const page = await store.listEvents({ ...base, limit: 1000, ...(from ? { after: from } : {}) });
          for (const e of page) yield format === 'csv' ? csvLine(e) : JSON.stringify(view(e)) + '\n';
          if (page.length < 1000) return;
          const last = page[page.length - 1]!;
          from = [last.time, last.tenant, last.id];
        }
      }
      return reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson').send(Readable.from(stream()));
    },
  );
}
