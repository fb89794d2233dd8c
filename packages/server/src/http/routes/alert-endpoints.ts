import { z } from 'zod';
import { MESSAGE_STATES, type Attempt, type Message } from '../../alerts/delivery.ts';
import { endpointInputSchema, type Endpoint } from '../../alerts/endpoint.ts';
import { RULE_KINDS } from '../../alerts/rule.ts';
import { requireEndpointAccess, type AlertService } from '../../alerts/service.ts';
import { TallyError } from '../../errors/registry.ts';
import { formatMicros } from '../../shared/time.ts';
import type { Router } from '../route.ts';

const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  type: z.enum(['webhook', 'slack']),
  description: z.string().nullable(),
  tenant: z.string().nullable(),
  kinds: z.array(z.enum(RULE_KINDS)),
  enabled: z.boolean(),
  secrets: z.array(z.object({ prefix: z.string().describe('the first characters, to tell secrets apart'), createdAt: z.string(), expiresAt: z.string().nullable() })),
  createdAt: z.string(),
  secret: z.string().optional().describe('the newest signing secret (whsec_…): shown only when created or rotated'),
});
const messageSchema = z.object({ id: z.string().describe('the webhook-id of every attempt'), endpoint: z.string(), tenant: z.string(), type: z.string(), alert: z.string().nullable(), payload: z.string(), state: z.enum(MESSAGE_STATES), attempts: z.number(), createdAt: z.string(), nextAttemptAt: z.string(), deliveredAt: z.string().nullable(), lastError: z.string().nullable() });
const attemptSchema = z.object({ id: z.string(), message: z.string(), endpoint: z.string(), attempt: z.number(), at: z.string(), status: z.number().nullable(), latencyMs: z.number(), ok: z.boolean(), error: z.string().nullable() });
const idParams = z.object({ id: z.string().min(1).max(200) });

function endpointView(e: Endpoint, withSecret = false): z.infer<typeof endpointSchema> {
  const { secrets, createdAt, ...rest } = e;
  const sorted = [...secrets].sort((a, b) => b.createdAt - a.createdAt);
  return { ...rest, createdAt: formatMicros(createdAt), secrets: sorted.map((s) => ({ prefix: `${s.secret.slice(0, 10)}…`, createdAt: formatMicros(s.createdAt), expiresAt: s.expiresAt === null ? null : formatMicros(s.expiresAt) })), ...(withSecret ? { secret: sorted[0]!.secret } : {}) };
}
const messageView = (m: Message) => ({ ...m, createdAt: formatMicros(m.createdAt), nextAttemptAt: formatMicros(m.nextAttemptAt), deliveredAt: m.deliveredAt === null ? null : formatMicros(m.deliveredAt) });
const attemptView = (a: Attempt) => ({ ...a, at: formatMicros(a.at) });

/**
 * Webhook endpoints (rotating secrets, test ping) and the outbox (deliveries, dead letters, the
 * attempt log, redelivery). Tenant-bound keys manage and see their own tenant's only.
 */
export function alertEndpointRoutes(router: Router, alerts: AlertService): void {
  router.add({ method: 'GET', url: '/v1/alerts/endpoints', summary: 'Webhook endpoints', tag: 'alerts', scope: 'read', responses: { 200: { description: 'Endpoints (secrets shown by prefix)', schema: z.object({ data: z.array(endpointSchema) }) } } }, async ({ principal }) => ({ data: (await alerts.endpoints(principal)).map((e) => endpointView(e)) }));
  router.add(
    { method: 'POST', url: '/v1/alerts/endpoints', summary: 'Create a webhook endpoint (Standard Webhooks signed, or Slack); a tenant-bound key creates its own tenant’s', tag: 'alerts', scope: 'read', body: endpointInputSchema, responses: { 201: { description: 'The endpoint with its signing secret (shown once)', schema: endpointSchema } } },
    async ({ body, principal, reply }) => {
      void reply.code(201);
      return endpointView(await alerts.createEndpoint(body, principal), true);
    },
  );
  router.add({ method: 'GET', url: '/v1/alerts/endpoints/:id', summary: 'One webhook endpoint', tag: 'alerts', scope: 'read', params: idParams, responses: { 200: { description: 'The endpoint', schema: endpointSchema } } }, async ({ params, principal }) => endpointView(await alerts.endpoint(params.id, principal)));
  router.add({ method: 'DELETE', url: '/v1/alerts/endpoints/:id', summary: 'Delete a webhook endpoint (its pending messages are dead-lettered)', tag: 'alerts', scope: 'read', params: idParams, responses: { 204: { description: 'Deleted' } } }, async ({ params, principal, reply }) => {
    requireEndpointAccess(principal, undefined, undefined);
    await alerts.deleteEndpoint(params.id, principal);
    return reply.code(204).send();
  });
  router.add(
    { method: 'POST', url: '/v1/alerts/endpoints/:id/rotate-secret', summary: 'Rotate the signing secret: the old one keeps signing beside the new for graceMinutes', tag: 'alerts', scope: 'read', params: idParams, body: z.object({ graceMinutes: z.number().int().min(0).max(43_200).default(1440) }).strict(), responses: { 200: { description: 'The endpoint with its new secret', schema: endpointSchema } } },
    async ({ params, body, principal }) => {
      requireEndpointAccess(principal, undefined, undefined);
      return endpointView(await alerts.rotateSecret(params.id, body.graceMinutes, principal), true);
    },
  );
  router.add({ method: 'POST', url: '/v1/alerts/endpoints/:id/test', summary: 'Send a test ping to the endpoint now (see its delivery log)', tag: 'alerts', scope: 'read', params: idParams, responses: { 202: { description: 'The ping message, enqueued', schema: messageSchema } } }, async ({ params, principal, reply }) => {
    requireEndpointAccess(principal, undefined, undefined);
    void reply.code(202);
    return messageView(await alerts.ping(params.id, principal));
  });
  router.add(
    {
      method: 'GET',
      url: '/v1/alerts/deliveries',
      summary: 'The outbox: messages by state (state=dead: the dead-letter list)',
      tag: 'alerts',
      scope: 'read',
      query: z.object({ state: z.enum(MESSAGE_STATES).optional(), endpoint: z.string().optional(), limit: z.coerce.number().int().min(1).max(10_000).default(200) }).strict(),
      responses: { 200: { description: 'Messages, newest first', schema: z.object({ data: z.array(messageSchema) }) } },
    },
    async ({ query, principal }) => {
      if (principal?.tenant === null && !principal.scopes.includes('admin')) throw new TallyError('FORBIDDEN', 'the outbox needs the admin scope or a key bound to a tenant');
      return { data: (await alerts.deliveries({ ...query, ...(principal?.tenant ? { tenant: principal.tenant } : {}) })).map(messageView) };
    },
  );
  router.add({ method: 'GET', url: '/v1/alerts/deliveries/:id', summary: 'One message and its attempts (the delivery log)', tag: 'alerts', scope: 'read', params: idParams, responses: { 200: { description: 'The message and attempts, newest first', schema: z.object({ message: messageSchema, attempts: z.array(attemptSchema) }) } } }, async ({ params, principal }) => {
    const d = await alerts.delivery(params.id, principal);
    return { message: messageView(d.message), attempts: d.attempts.map(attemptView) };
  });
  router.add({ method: 'POST', url: '/v1/alerts/deliveries/:id/redeliver', summary: 'Send a message again under the same webhook-id, with a fresh retry budget', tag: 'alerts', scope: 'admin', params: idParams, responses: { 202: { description: 'The message, pending', schema: messageSchema } } }, async ({ params, principal, reply }) => {
    void reply.code(202);
    return messageView(await alerts.redeliver(params.id, principal));
  });
  router.add(
    { method: 'GET', url: '/v1/alerts/attempts', summary: 'The delivery log: attempts with response codes and latencies, newest first', tag: 'alerts', scope: 'admin', query: z.object({ endpoint: z.string().optional(), limit: z.coerce.number().int().min(1).max(10_000).default(200) }).strict(), responses: { 200: { description: 'Attempts', schema: z.object({ data: z.array(attemptSchema) }) } } },
    async ({ query }) => ({ data: (await alerts.attempts(query)).map(attemptView) }),
  );
}
