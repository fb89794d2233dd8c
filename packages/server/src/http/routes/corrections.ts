import { z } from 'zod';
import type { CorrectionService } from '../../audit/corrections/correction-service.ts';
import { TallyError } from '../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import { formatMicros } from '../../shared/time.ts';
import type { Router } from '../route.ts';

const params = z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant), id: identifierSchema(IDENTIFIER_LIMITS.id) }).strict();
const reason = z.string().trim().min(1).max(2000).describe('why (kept with the correction, immutable)');
const correction = z.object({
  id: z.string().describe('the correction record (an event of type tally.correction)'),
  tenant: z.string(),
  action: z.enum(['void', 'amend']),
  event: z.string().describe('the voided event'),
  eventType: z.string(),
  reason: z.string(),
  keyId: z.string().describe('the API key that made it'),
  madeAt: z.string(),
  replacement: z.string().nullable(),
  time: z.string().describe("the voided event's time"),
});

/** Corrections: void, amend, and an event with the corrections touching it. */
export function correctionRoutes(router: Router, corrections: CorrectionService): void {
  router.add(
    {
      method: 'POST',
      url: '/v1/events/:tenant/:id/void',
      summary: 'Void an event: an immutable correction record (reason, key, time); the event stops counting in rollups, live counters, queries and invoices, and stays in the raw table',
      tag: 'events',
      scope: 'admin',
      params,
      body: z.object({ reason }).strict(),
      responses: { 201: { description: 'The correction', schema: correction } },
    },
    async ({ params: p, body, principal, reply }) => {
      const c = await corrections.void(p.tenant, p.id, body.reason, principal!.keyId);
      void reply.code(201);
      return c;
    },
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/events/:tenant/:id/amend',
      summary: 'Amend an event: void it and store a replacement event (new id, same tenant) in its place',
      tag: 'events',
      scope: 'admin',
      params,
      body: z.object({ reason, event: z.record(z.string(), z.unknown()).describe('the replacement CloudEvent (subject defaults to the tenant)') }).strict(),
      responses: { 201: { description: 'The correction and the receipt of the replacement', schema: z.object({ correction, replacement: z.record(z.string(), z.unknown()) }) } },
    },
    async ({ params: p, body, principal, reply }) => {
      const r = await corrections.amend(p.tenant, p.id, body.event, body.reason, principal!.keyId);
      void reply.code(201);
      return r;
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/v1/events/:tenant/:id',
      summary: 'One raw event with the corrections touching it (the one voiding it; the amend it replaced an event for)',
      tag: 'events',
      scope: 'read',
      params,
      responses: { 200: { description: 'The event and its corrections', schema: z.object({ event: z.record(z.string(), z.unknown()), corrections: z.array(correction) }) } },
    },
    async ({ params: p, principal }) => {
      if (principal?.tenant && principal.tenant !== p.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      const { event: e, corrections: list } = await corrections.forEvent(p.tenant, p.id);
      return { event: { tenant: e.tenant, id: e.id, type: e.type, source: e.source, time: formatMicros(e.time), ingestedAt: formatMicros(e.ingestedAt), actor: e.actor, data: e.data, contentHash: e.contentHash }, corrections: list };
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/v1/corrections',
      summary: 'Every correction (of one tenant with `tenant`), in (time, tenant, id) order',
      tag: 'events',
      scope: 'read',
      query: z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional() }).strict(),
      responses: { 200: { description: 'Corrections', schema: z.object({ data: z.array(correction) }) } },
    },
    async ({ query: q, principal }) => {
      if (principal?.tenant && q.tenant !== undefined && q.tenant !== principal.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      const data = [];
      for await (const c of corrections.list(principal?.tenant ?? q.tenant)) data.push(c);
      return { data };
    },
  );
}
