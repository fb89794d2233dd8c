import { z } from 'zod';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import type { Principal } from '../../auth/keys.ts';
import { TallyError } from '../../errors/registry.ts';
import type { QuotaConsumer } from '../../quota/consume.ts';
import { ENFORCEMENT_MODES, FAILURE_POLICIES } from '../../quota/counters.ts';
import type { QuotaOverridesService } from '../../quota/overrides/overrides-service.ts';
import { tenantQuotaBodySchema } from '../../quota/overrides/overrides.ts';
import type { QuotaService } from '../../quota/quota-service.ts';
import type { QuotaRateLimits } from '../../quota/rate-limits.ts';
import { toStatus, type EntitlementStatus } from '../../quota/status.ts';
import type { GrantsService } from '../../quota/grants/grants-service.ts';
import { grantRoutes, grantSchema } from './grants.ts';
import { THRESHOLDS, type QuotaWarnings } from '../../quota/warnings.ts';
import { formatScaled, parseQuantity } from '../../shared/decimal.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE, parseRfc3339 } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import type { Router } from '../route.ts';

const decimal = z.string().describe('exact decimal');
const status = z.object({
  tenant: z.string(),
  id: z.string().describe("the entitlement's id in its plan (default: the meter)"),
  meter: z.string(),
  filter: z.record(z.string(), z.array(z.string())).describe('dimension filters: only usage with these dimension values counts ({} = all)'),
  plan: z.string(),
  enforcement: z.enum(['hard', 'soft']),
  mode: z.enum(ENFORCEMENT_MODES).describe('how checks reach the shared counters (distributed profile)'),
  failurePolicy: z.enum(FAILURE_POLICIES).describe('what decides while Redis is unreachable'),
  period: z.enum(['hour', 'day', 'month']),
  timeZone: z.string(),
  periodStart: z.string(),
  resetAt: z.string().describe('end of the current period (RFC 3339)'),
  hasAccess: z.boolean().describe('hard: usage is below the limit; soft: always true'),
  usage: decimal,
  limit: decimal,
  remaining: decimal,
  overage: decimal.describe('usage above the limit (soft limits), else 0'),
  projected: decimal.describe('usage so far + the forecast for the rest of the period (day and month quotas with a forecast), else usage × period length / elapsed time (usage itself during the first tenth of the period)'),
  overageProjected: z.boolean().describe('projected > limit'),
  projectionMethod: z.enum(['forecast', 'linear']).describe("forecast: usage so far + the meter's forecast for the rest of the period; linear: the fallback"),
  projectionBasis: z.string().describe('how the projection was made, in words'),
  included: decimal.describe("the plan's limit (or its override) without grants"),
  grantAllowance: decimal.describe('what grants add to the limit in the current period (drawn in it so far + what the grants in effect hold)'),
});
const entitlementRead = status.extend({ grantBalance: decimal.describe('what the grants in effect hold now'), grants: z.array(grantSchema) });
const decidedBy = z
  .union([
    z.object({ by: z.literal('counters'), mode: z.enum(ENFORCEMENT_MODES) }),
    z.object({ by: z.literal('failure-policy'), policy: z.enum(FAILURE_POLICIES), cause: z.string() }),
  ])
  .describe('who decided: the shared counters (in which mode), or a failure policy while Redis was unreachable');
const tenantOverrides = tenantQuotaBodySchema.extend({ updatedAt: z.string(), updatedBy: z.string().describe('id of the key that made the change') });
const consumeBody = z
  .object({
    tenant: identifierSchema(IDENTIFIER_LIMITS.tenant),
    meter: z.string().min(1),
    amount: z.union([z.string(), z.number()]).default(1).describe('exact decimal > 0; must be 1 for COUNT meters'),
    idempotencyKey: identifierSchema(IDENTIFIER_LIMITS.id).describe('the usage event id: a retried key is counted once'),
    data: z.record(z.string(), z.unknown()).optional().describe('the rest of the usage event data (dimensions, values other meters of its type read)'),
  })
  .strict();
const warningsQuery = z
  .object({
    tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional(),
    meter: z.string().optional(),
    from: z.string().optional().describe('RFC 3339; default 35 days before `to`'),
    to: z.string().optional().describe('RFC 3339; default now'),
  })
  .strict();
const warning = z.object({ id: z.string(), tenant: z.string(), meter: z.string(), entitlement: z.string().optional(), plan: z.string(), threshold: z.enum(THRESHOLDS), enforcement: z.enum(['hard', 'soft']), periodStart: z.string(), resetAt: z.string(), usage: decimal, limit: decimal, projected: decimal, raisedAt: z.string() });

/** Portal keys bound to a tenant read only that tenant. */
function checkTenant(principal: Principal | null, tenant: string): void {
  if (principal?.tenant && principal.tenant !== tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
}

function time(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = parseRfc3339(v);
  if (t === undefined) throw new TallyError('VALIDATION_FAILED', `${name}: "${v}" is not RFC 3339`, [{ path: `query.${name}`, message: 'not RFC 3339' }]);
  return t;
}

/** Entitlement checks, atomic consumption and recorded warnings. */
export function quotaRoutes(router: Router, d: { quota: QuotaService; consumer: QuotaConsumer; warnings: QuotaWarnings; rateLimits: QuotaRateLimits; store: UsageStore; overrides?: QuotaOverridesService; grants?: GrantsService }): void {
  if (d.grants) grantRoutes(router, d.grants);
  const withGrants = async (tenant: string, s: EntitlementStatus[]) => {
    const all = d.grants ? await d.grants.list(tenant) : [];
    return s.map((e) => ({ ...e, grantBalance: formatScaled(d.grants?.standing(tenant, e.id)?.balance ?? 0n), grants: all.filter((g) => g.entitlement === e.id) }));
  };
  const tenantParams = z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant) });
  const entitlementsAnswer = z.object({ tenant: z.string(), plan: z.string().nullable(), overrides: tenantOverrides.optional().describe('run-time settings (PUT /v1/tenants/{tenant}); absent: the config decides'), data: z.array(entitlementRead) });
  const entitlementsOf = async (tenant: string) => {
    await d.grants?.ensureFresh(tenant);
    const r = await d.quota.list(tenant);
    const overrides = await d.overrides?.get(tenant);
    return { tenant, plan: r.plan, ...(overrides ? { overrides } : {}), data: await withGrants(tenant, r.data.map(toStatus)) };
  };
  router.add(
    { method: 'GET', url: '/v1/tenants/:tenant/entitlements', summary: "All of a tenant's entitlements, live", tag: 'quota', scope: 'read', params: tenantParams, responses: { 200: { description: 'Entitlements of the plan (empty without one)', schema: entitlementsAnswer } } },
    async ({ params, principal }) => {
      checkTenant(principal, params.tenant);
      return entitlementsOf(params.tenant);
    },
  );
  if (d.overrides) {
    const overrides = d.overrides;
    router.add(
      {
        method: 'PUT',
        url: '/v1/tenants/:tenant',
        summary: "Set a tenant's plan and entitlement overrides at run time (in force on every node within a second; audited as a tally.quota.override event)",
        tag: 'quota',
        scope: 'admin',
        params: tenantParams,
        body: tenantQuotaBodySchema,
        responses: { 200: { description: "The tenant's entitlements under the new settings", schema: entitlementsAnswer } },
      },
      async ({ params, body, principal }) => {
        await overrides.put(params.tenant, body, principal?.keyId ?? 'unknown');
        return entitlementsOf(params.tenant);
      },
    );
  }
  router.add(
    { method: 'GET', url: '/v1/tenants/:tenant/entitlements/:meter', summary: 'One entitlement by id (by default its meter), live', tag: 'quota', scope: 'read', params: z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant), meter: z.string() }), responses: { 200: { description: 'The entitlement', schema: entitlementRead } } },
    async ({ params, principal }) => {
      checkTenant(principal, params.tenant);
      await d.grants?.ensureFresh(params.tenant);
      return (await withGrants(params.tenant, [toStatus(await d.quota.status(params.tenant, params.meter))]))[0];
    },
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/quota/consume',
      summary: 'Check and record usage in one atomic step (idempotent per key)',
      tag: 'quota',
      scope: 'ingest',
      body: consumeBody,
      responses: {
        200: { description: 'Granted and recorded (or a retried key: duplicate = true)', schema: status.extend({ granted: z.literal(true), duplicate: z.boolean(), amount: decimal, decidedBy: decidedBy.optional() }) },
        429: { description: 'QUOTA_EXCEEDED (nothing recorded) or RATE_LIMITED' },
        503: { description: 'QUOTA_UNAVAILABLE: Redis unreachable and the failure policy denied (details.decidedBy)' },
      },
    },
    async ({ body, reply }) => {
      const amount = parseQuantity(body.amount);
      if (typeof amount !== 'bigint') throw new TallyError(amount === 'out_of_range' ? 'VALUE_OUT_OF_RANGE' : 'VALIDATION_FAILED', `amount: ${JSON.stringify(body.amount)} is not a decimal with at most 12 fractional digits`, [{ path: 'body.amount', message: 'not a decimal' }]);
      const limited = d.rateLimits.take(body.tenant);
      if (limited) {
        void reply.headers(limited.headers);
        if (!limited.proceed) throw new TallyError('RATE_LIMITED', limited.body?.detail ?? 'rate limit exceeded', { violated: limited.body?.violated });
      }
      await d.grants?.ensureFresh(body.tenant);
      const r = await d.consumer.consume({ tenant: body.tenant, meter: body.meter, amount, idempotencyKey: body.idempotencyKey, ...(body.data ? { data: body.data } : {}) });
      if (!r.granted && r.decidedBy.by === 'failure-policy') {
        void reply.header('retry-after', '1');
        throw new TallyError('QUOTA_UNAVAILABLE', `the quota counters are unreachable and the "${r.decidedBy.policy}" failure policy denied; nothing was recorded`, { decidedBy: r.decidedBy });
      }
      if (!r.granted) {
        const now = d.quota.clock.nowMicros();
        const wait = Math.min(...r.violated.map((s) => s.period.end - now));
        void reply.header('retry-after', String(Math.max(1, Math.ceil(wait / 1_000_000))));
        const violated = r.violated.map(toStatus);
        throw new TallyError('QUOTA_EXCEEDED', `hard quota exceeded: ${violated.map((v) => `${v.meter} ${v.usage}/${v.limit} per ${v.period}`).join(', ')}; nothing was recorded`, { violated, decidedBy: r.decidedBy });
      }
      return { granted: true, duplicate: r.duplicate, amount: formatScaled(amount), ...toStatus(r.snapshot), ...(r.decidedBy ? { decidedBy: r.decidedBy } : {}) };
    },
  );
  router.add(
    { method: 'GET', url: '/v1/quota/warnings', summary: 'Recorded quota warnings (80 %, 100 %, projected overage), once per tenant/meter/period', tag: 'quota', scope: 'read', query: warningsQuery, responses: { 200: { description: 'Warnings, oldest first', schema: z.object({ data: z.array(warning) }) } } },
    async ({ query, principal }) => {
      if (query.tenant !== undefined) checkTenant(principal, query.tenant);
      const tenant = principal?.tenant ?? query.tenant;
      const to = time(query.to, 'to') ?? d.quota.clock.nowMicros() + MICROS_PER_MINUTE;
      const from = time(query.from, 'from') ?? to - 35 * MICROS_PER_DAY;
      return { data: await d.warnings.list(d.store, { from, to, ...(tenant ? { tenants: [tenant] } : {}), ...(query.meter ? { meter: query.meter } : {}) }) };
    },
  );
}
