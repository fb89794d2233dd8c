import { z } from 'zod';
import type { KeyService } from '../../../auth/keys.ts';
import { TallyError } from '../../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierProblem } from '../../../events/identifiers.ts';
import { MICROS_PER_HOUR, formatMicros, parseRfc3339 } from '../../../shared/time.ts';
import type { StoredKey } from '../../../store/port.ts';
import type { Router } from '../../route.ts';
import { answerQuery, fromQueryString, type OpenMeterQueryDeps } from './query.ts';
import { meterQueryParamsSchema, meterQueryResultSchema, portalTokenCreateSchema, portalTokenSchema } from './schemas.ts';

/** The name of the Tally keys that are OpenMeter portal tokens (how list and invalidate find them). */
export const PORTAL_KEY_NAME = 'openmeter portal token';

/** How long a portal token lives when the request names no `expiresAt` (OpenMeter's default). */
export const PORTAL_TOKEN_TTL_MICROS = MICROS_PER_HOUR;

type PortalToken = z.infer<typeof portalTokenSchema>;

function tokenView(k: StoredKey, now: number, token?: string): PortalToken {
  const expiresAt = k.expiresAt ?? Number.MAX_SAFE_INTEGER;
  const view: PortalToken = { id: k.id, subject: k.tenant ?? '', expiresAt: formatMicros(expiresAt), expired: now >= expiresAt, createdAt: formatMicros(k.createdAt) };
  if (token !== undefined) view.token = token;
  if (k.allowedMeters) view.allowedMeterSlugs = k.allowedMeters;
  return view;
}

/** What the portal routes need. */
export interface PortalDeps extends OpenMeterQueryDeps {
  keys: KeyService;
}

/**
 * OpenMeter's consumer portal: `POST /api/v1/portal/tokens` issues a Tally read key bound to the
 * subject (tenant), limited to `allowedMeterSlugs` when given, expiring at `expiresAt` (default
 * one hour); `GET /api/v1/portal/meters/{meterSlug}/query` answers with that key for its subject
 * only. Tokens can be listed and invalidated (revoked) too, which OpenMeter's stateless tokens
 * cannot.
 */
export function openMeterPortalRoutes(router: Router, d: PortalDeps): void {
  const tag = 'openmeter';
  router.add(
    {
      method: 'POST',
      url: '/api/v1/portal/tokens',
      summary: 'OpenMeter: create a consumer portal token (a tenant-bound, expiring read key)',
      tag,
      scope: 'admin',
      body: portalTokenCreateSchema,
      responses: { 200: { description: 'The token (its secret is shown only here)', schema: portalTokenSchema } },
    },
    async ({ body }) => {
      const p = identifierProblem(body.subject, IDENTIFIER_LIMITS.tenant);
      if (p) throw new TallyError('INVALID_IDENTIFIER', `subject: ${p}`, [{ path: 'body.subject', message: p }]);
      const now = d.clock.nowMicros();
      let expiresAt = now + PORTAL_TOKEN_TTL_MICROS;
      if (body.expiresAt !== undefined) {
        const t = parseRfc3339(body.expiresAt);
        if (t === undefined) throw new TallyError('VALIDATION_FAILED', `body.expiresAt: "${body.expiresAt}" is not RFC 3339`, [{ path: 'body.expiresAt', message: 'not RFC 3339' }]);
        expiresAt = t;
      }
      const { key, token } = await d.keys.create(PORTAL_KEY_NAME, ['read'], body.subject, undefined, { expiresAt, allowedMeters: body.allowedMeterSlugs ?? null });
      return tokenView(key, now, token);
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/api/v1/portal/tokens',
      summary: 'OpenMeter: list portal tokens that are not invalidated, newest first (never their secrets)',
      tag,
      scope: 'admin',
      query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(25) }),
      responses: { 200: { description: 'Tokens', schema: z.array(portalTokenSchema) } },
    },
    async ({ query }) => {
      const now = d.clock.nowMicros();
      const live = d.keys.list().filter((k) => k.name === PORTAL_KEY_NAME && k.revokedAt === null);
      return live.sort((a, b) => b.createdAt - a.createdAt).slice(0, query.limit).map((k) => tokenView(k, now));
    },
  );
  router.add(
    {
      method: 'POST',
      url: '/api/v1/portal/tokens/invalidate',
      summary: 'OpenMeter: invalidate portal tokens by id or subject (no filter: all of them)',
      tag,
      scope: 'admin',
      body: z.object({ id: z.string().optional(), subject: z.string().optional() }).strip(),
      responses: { 204: { description: 'Invalidated' } },
    },
    async ({ body, reply }) => {
      const matches = d.keys.list().filter((k) => k.name === PORTAL_KEY_NAME && k.revokedAt === null && (body.id === undefined || k.id === body.id) && (body.subject === undefined || k.tenant === body.subject));
      for (const k of matches) await d.keys.revoke(k.id);
      return reply.code(204).send();
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/api/v1/portal/meters/:meterSlug/query',
      summary: 'OpenMeter: query a meter with a portal token (its subject only)',
      tag,
      scope: 'read',
      params: z.object({ meterSlug: z.string().min(1) }),
      query: meterQueryParamsSchema,
      responses: { 200: { description: 'Usage rows of the token’s subject', schema: meterQueryResultSchema } },
    },
    async ({ params, query, principal, req }) => {
      if (!principal?.tenant) throw new TallyError('FORBIDDEN', 'this endpoint takes a portal token (POST /api/v1/portal/tokens): a key bound to one subject');
      return answerQuery(d, params.meterSlug, fromQueryString(query), principal, principal.tenant, req);
    },
  );
}
