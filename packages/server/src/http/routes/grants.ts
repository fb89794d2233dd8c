import { z } from 'zod';
import type { Principal } from '../../auth/keys.ts';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import { TallyError } from '../../errors/registry.ts';
import type { GrantsService } from '../../quota/grants/grants-service.ts';
import { RECURRENCES } from '../../quota/grants/repo.ts';
import type { Router } from '../route.ts';

/** The API's view of a grant (`GrantView`). */
export const grantSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  entitlement: z.string().describe('entitlement id in the tenant’s plan'),
  amount: z.string().describe('exact decimal'),
  effectiveAt: z.string(),
  expiresAt: z.string().nullable(),
  priority: z.number(),
  recurrence: z.enum(RECURRENCES).nullable(),
  createdAt: z.string(),
  createdBy: z.string().describe('id of the key that made it'),
  voided: z.object({ at: z.string(), by: z.string(), reason: z.string().nullable() }).nullable(),
  status: z.enum(['scheduled', 'active', 'expired', 'voided', 'dormant']).describe('dormant: the tenant’s plan has no such entitlement now'),
  remaining: z.string().describe('what it holds now (0 unless active)'),
  drawn: z.string().describe('drawn from it so far'),
});

const grantBody = z
  .object({
    id: identifierSchema(IDENTIFIER_LIMITS.id).optional().describe('idempotency: the same request again answers the stored grant (default: generated)'),
    entitlement: z.string().min(1),
    amount: z.union([z.string(), z.number()]).describe('exact decimal > 0'),
    effectiveAt: z.string().optional().describe('RFC 3339 on a whole minute (default: the current minute)'),
    expiresAt: z.string().nullable().optional().describe('RFC 3339 on a whole minute, exclusive (default: never)'),
    priority: z.number().int().min(0).max(1_000_000).optional().describe('among grants expiring together, lower first (default 0)'),
    recurrence: z.enum(RECURRENCES).nullable().optional().describe('granted anew every interval from effectiveAt; what is left lapses (default: one-off)'),
  })
  .strict();

function checkTenant(principal: Principal | null, tenant: string): void {
  if (principal?.tenant && principal.tenant !== tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
}

/** Grants: add, list, void (admin changes are recorded by the access log and as `tally.quota.grant` events). */
export function grantRoutes(router: Router, grants: GrantsService): void {
  const params = z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant) });
  const list = z.object({ tenant: z.string(), data: z.array(grantSchema) });
  router.add(
    {
      method: 'POST',
      url: '/v1/tenants/:tenant/grants',
      summary: 'Grant an allowance on one of the tenant’s entitlements (in force on every node within a second; audited)',
      tag: 'quota',
      scope: 'admin',
      params,
      body: grantBody,
      responses: { 201: { description: 'Created', schema: grantSchema }, 200: { description: 'The same grant was already stored (a retry)', schema: grantSchema }, 409: { description: 'GRANT_CONFLICT' } },
    },
    async ({ params, body, principal, reply }) => {
      const before = (await grants.list(params.tenant)).some((g) => g.id === body.id);
      const g = await grants.add(params.tenant, body, principal?.keyId ?? 'unknown');
      void reply.code(before ? 200 : 201);
      return g;
    },
  );
  router.add(
    { method: 'GET', url: '/v1/tenants/:tenant/grants', summary: 'The tenant’s grants, oldest first, with what each holds now', tag: 'quota', scope: 'read', params, responses: { 200: { description: 'Grants', schema: list } } },
    async ({ params, principal }) => {
      checkTenant(principal, params.tenant);
      return { tenant: params.tenant, data: await grants.list(params.tenant) };
    },
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/tenants/:tenant/grants/:id/void',
      summary: 'Void a grant from the next whole minute on (what was drawn stays drawn; audited)',
      tag: 'quota',
      scope: 'admin',
      params: params.extend({ id: z.string().min(1) }),
      body: z.object({ reason: z.string().max(1000).optional() }).strict(),
      responses: { 200: { description: 'The voided grant', schema: grantSchema } },
    },
    async ({ params, body, principal }) => grants.void(params.tenant, params.id, principal?.keyId ?? 'unknown', body.reason ?? null),
  );
}
