import { z } from 'zod';
import { ALERT_STATES } from '../../alerts/alert.ts';
import { alertView } from '../../alerts/notify.ts';
import { RULE_KINDS, ruleInputSchema, type Rule } from '../../alerts/rule.ts';
import type { AlertService } from '../../alerts/service.ts';
import { TallyError } from '../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import { timeParam, type Router } from '../route.ts';
import { alertEndpointRoutes } from './alert-endpoints.ts';

const ruleView = z.object({ id: z.string(), name: z.string().optional(), kind: z.enum(RULE_KINDS), scope: z.object({ tenant: z.string().optional(), plan: z.string().optional() }), meter: z.string().optional(), source: z.enum(['config', 'api']), createdAt: z.string(), updatedAt: z.string() }).loose();
const alertSchema = z
  .object({ id: z.string(), rule: z.string(), kind: z.enum(RULE_KINDS), subject: z.string(), tenant: z.string(), state: z.enum(ALERT_STATES), summary: z.string(), details: z.record(z.string(), z.unknown()), firedAt: z.string(), updatedAt: z.string(), resolvedAt: z.string().nullable(), lastNotifiedAt: z.string().nullable(), notifications: z.number(), acknowledgedAt: z.string().nullable(), acknowledgedBy: z.string().nullable(), silencedUntil: z.string().nullable() })
  .loose();
const idParams = z.object({ id: z.string().min(1).max(200) });

/** Alert rules and the alert history (docs/alerts.md); endpoints and deliveries in alert-endpoints.ts. */
export function alertRoutes(router: Router, alerts: AlertService): void {
  router.add({ method: 'GET', url: '/v1/alerts/rules', summary: 'Alert rules (from config and the API); a tenant-bound key sees those that may concern its tenant', tag: 'alerts', scope: 'read', responses: { 200: { description: 'Rules', schema: z.object({ data: z.array(ruleView) }) } } }, async ({ principal }) => ({
    data: (await alerts.rules()).filter((r) => !principal?.tenant || r.scope.tenant === undefined || r.scope.tenant === principal.tenant),
  }));
  router.add({ method: 'POST', url: '/v1/alerts/rules', summary: 'Create an alert rule', tag: 'alerts', scope: 'admin', body: ruleInputSchema, responses: { 201: { description: 'The rule', schema: ruleView } } }, async ({ body, reply }) => {
    void reply.code(201);
    return alerts.save(body as never, { source: 'api' });
  });
  router.add({ method: 'GET', url: '/v1/alerts/rules/:id', summary: 'One alert rule', tag: 'alerts', scope: 'read', params: idParams, responses: { 200: { description: 'The rule', schema: ruleView } } }, async ({ params }) => alerts.rule(params.id));
  router.add({ method: 'PUT', url: '/v1/alerts/rules/:id', summary: 'Replace an alert rule (its alerts keep their history)', tag: 'alerts', scope: 'admin', params: idParams, body: ruleInputSchema, responses: { 200: { description: 'The rule', schema: ruleView } } }, async ({ params, body }) => {
    if (body.id !== undefined && body.id !== params.id) throw new TallyError('VALIDATION_FAILED', `body.id: "${body.id}" differs from the path's "${params.id}"`, [{ path: 'body.id', message: 'differs from the path' }]);
    const existing: Rule = await alerts.rule(params.id);
    if (existing.source === 'config') throw new TallyError('CONFLICT', `rule "${params.id}" comes from the config file; change it there`);
    return alerts.save(body as never, { id: params.id, source: 'api', replace: true });
  });
  router.add({ method: 'DELETE', url: '/v1/alerts/rules/:id', summary: 'Delete an alert rule (its alerts stay in the history)', tag: 'alerts', scope: 'admin', params: idParams, responses: { 204: { description: 'Deleted' } } }, async ({ params, reply }) => {
    if ((await alerts.rule(params.id)).source === 'config') throw new TallyError('CONFLICT', `rule "${params.id}" comes from the config file; remove it there`);
    await alerts.deleteRule(params.id);
    return reply.code(204).send();
  });
  router.add(
    {
      method: 'GET',
      url: '/v1/alerts',
      summary: 'Alerts, newest change first (firing now: state=firing); a tenant-bound key sees its tenant',
      tag: 'alerts',
      scope: 'read',
      query: z.object({ state: z.enum(ALERT_STATES).optional(), tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional(), rule: z.string().optional(), from: z.string().optional().describe('RFC 3339: changed at or after'), to: z.string().optional().describe('RFC 3339: changed at or before'), limit: z.coerce.number().int().min(1).max(10_000).default(200) }).strict(),
      responses: { 200: { description: 'Alerts', schema: z.object({ data: z.array(alertSchema) }) } },
    },
    async ({ query, principal }) => {
      if (principal?.tenant && query.tenant !== undefined && query.tenant !== principal.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      const from = timeParam(query.from, 'query.from');
      const to = timeParam(query.to, 'query.to');
      const data = await alerts.alerts({ limit: query.limit, ...(query.state ? { state: query.state } : {}), ...(query.rule ? { rule: query.rule } : {}), ...((principal?.tenant ?? query.tenant) ? { tenant: (principal?.tenant ?? query.tenant)! } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
      return { data: data.map(alertView) };
    },
  );
  router.add({ method: 'GET', url: '/v1/alerts/:id', summary: 'One alert', tag: 'alerts', scope: 'read', params: idParams, responses: { 200: { description: 'The alert', schema: alertSchema } } }, async ({ params, principal }) => alertView(await alerts.alert(params.id, principal)));
  router.add({ method: 'POST', url: '/v1/alerts/:id/acknowledge', summary: 'Acknowledge an alert: no re-notification while it keeps firing', tag: 'alerts', scope: 'admin', params: idParams, responses: { 200: { description: 'The alert', schema: alertSchema } } }, async ({ params, principal }) => alertView(await alerts.acknowledge(params.id, principal)));
  router.add(
    { method: 'POST', url: '/v1/alerts/:id/silence', summary: 'Silence an alert’s notifications until a time (it still fires and resolves)', tag: 'alerts', scope: 'admin', params: idParams, body: z.object({ until: z.string().describe('RFC 3339') }).strict(), responses: { 200: { description: 'The alert', schema: alertSchema } } },
    async ({ params, body, principal }) => alertView(await alerts.silence(params.id, timeParam(body.until, 'body.until')!, principal)),
  );
  alertEndpointRoutes(router, alerts);
}
