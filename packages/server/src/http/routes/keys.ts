import { z } from 'zod';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import { SCOPES, type KeyService } from '../../auth/keys.ts';
import type { StoredKey } from '../../store/port.ts';
import { formatMicros, parseRfc3339 } from '../../shared/time.ts';
import { TallyError } from '../../errors/registry.ts';
import type { Router } from '../route.ts';

const keyView = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  tenant: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  allowedMeters: z.array(z.string()).nullable(),
  lastUsedAt: z.string().nullable().describe('the last request the key authenticated (written to the store within a minute)'),
  expired: z.boolean().describe('true once expiresAt has passed: the key is refused with KEY_EXPIRED'),
});

function view(k: StoredKey, now: number): z.infer<typeof keyView> {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes as z.infer<typeof keyView>['scopes'],
    tenant: k.tenant,
    createdAt: formatMicros(k.createdAt),
    revokedAt: k.revokedAt === null ? null : formatMicros(k.revokedAt),
    expiresAt: k.expiresAt == null ? null : formatMicros(k.expiresAt),
    allowedMeters: k.allowedMeters ?? null,
    lastUsedAt: k.lastUsedAt == null ? null : formatMicros(k.lastUsedAt),
    expired: k.expiresAt != null && now >= k.expiresAt,
  };
}

/** API key management (admin). The secret is shown once, in the create answer. */
export function keyRoutes(router: Router, keys: KeyService): void {
  // Any valid key may ask what it may do (the dashboard hides server-wide figures from portal keys).
  router.add(
    {
      method: 'GET',
      url: '/v1/whoami',
      summary: 'What the calling key may do: its scopes, and the tenant (and meters) it is bound to',
      tag: 'keys',
      scope: null,
      responses: { 200: { description: 'The caller', schema: z.object({ keyId: z.string(), scopes: z.array(z.enum(SCOPES)), tenant: z.string().nullable(), meters: z.array(z.string()).nullable() }) }, 401: { description: 'UNAUTHENTICATED' } },
    },
    async ({ req }) => {
      const h = req.headers.authorization;
      const p = keys.verify(h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined);
      return { keyId: p.keyId, scopes: p.scopes, tenant: p.tenant, meters: p.meters ?? null };
    },
  );
  router.add({ method: 'GET', url: '/v1/keys', summary: 'List API keys (never their secrets)', tag: 'keys', scope: 'admin', responses: { 200: { description: 'Keys', schema: z.object({ data: z.array(keyView) }) } } }, async () => {
    const now = keys.nowMicros();
    return { data: (await keys.listStored()).map((k) => view(k, now)) };
  });
  router.add(
    {
      method: 'POST',
      url: '/v1/keys',
      summary: 'Create an API key',
      tag: 'keys',
      scope: 'admin',
      body: z
        .object({
          name: identifierSchema(IDENTIFIER_LIMITS.keyName),
          scopes: z.array(z.enum(SCOPES)).min(1),
          tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional().describe('bind a read key to one tenant'),
          expiresAt: z.string().optional().describe('RFC 3339: the key is refused from then on'),
          allowedMeters: z.array(z.string().min(1)).max(1000).optional().describe('the only meters the key may query'),
        })
        .strict(),
      responses: { 201: { description: 'The key and its secret token (shown once)', schema: keyView.extend({ token: z.string() }) } },
    },
    async ({ body, reply }) => {
      const expiresAt = body.expiresAt === undefined ? null : parseRfc3339(body.expiresAt);
      if (expiresAt === undefined) throw new TallyError('VALIDATION_FAILED', `body.expiresAt: "${body.expiresAt}" is not RFC 3339`, [{ path: 'body.expiresAt', message: 'not RFC 3339' }]);
      const { key, token } = await keys.create(body.name, body.scopes, body.tenant ?? null, undefined, { expiresAt, allowedMeters: body.allowedMeters ?? null });
      void reply.code(201);
      return { ...view(key, keys.nowMicros()), token };
    },
  );
  router.add(
    { method: 'DELETE', url: '/v1/keys/:id', summary: 'Revoke an API key', tag: 'keys', scope: 'admin', params: z.object({ id: identifierSchema(IDENTIFIER_LIMITS.id) }), responses: { 204: { description: 'Revoked' } } },
    async ({ params, reply }) => {
      await keys.revoke(params.id);
      return reply.code(204).send();
    },
  );
}
