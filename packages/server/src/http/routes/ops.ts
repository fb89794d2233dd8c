import { z } from 'zod';
import type { TallyMetrics } from '../../ops/metrics.ts';
import type { UsageStore } from '../../store/port.ts';
import { TallyError } from '../../errors/registry.ts';
import { createHash, timingSafeEqual } from 'node:crypto';
import { requireScope, type KeyService } from '../../auth/keys.ts';
import type { Router } from '../route.ts';

/**
 * Liveness, readiness, Prometheus metrics. Health is unauthenticated by design; the metrics are
 * server-wide figures (every tenant's ingest), so with `keys` they need a read key that is not
 * bound to a tenant (`server.metricsRequireKey`).
 */
export function opsRoutes(router: Router, store: UsageStore, metrics: TallyMetrics, isDraining: () => boolean, keys?: KeyService, metricsToken?: string): void {
  const tokenHash = metricsToken === undefined ? undefined : sha256(metricsToken);
  router.add({ method: 'GET', url: '/healthz', summary: 'Liveness: the process answers', tag: 'ops', scope: null, responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
  router.add(
    { method: 'GET', url: '/readyz', summary: 'Readiness: the store answers and the server is not draining', tag: 'ops', scope: null, responses: { 200: { description: 'Ready', schema: z.object({ status: z.literal('ready'), store: z.string() }) } } },
    async () => {
      if (isDraining()) throw new TallyError('STORE_UNAVAILABLE', 'shutting down');
      try {
        await store.ping();
      } catch (err) {
        throw new TallyError('STORE_UNAVAILABLE', `store not ready: ${(err as Error).message}`);
      }
      return { status: 'ready' as const, store: store.engine };
    },
  );
  router.add({ method: 'GET', url: '/metrics', summary: 'Prometheus metrics (text format); with server.metricsToken, that bearer token; with server.metricsRequireKey, a read key not bound to a tenant', tag: 'ops', scope: null, responses: { 200: { description: 'Prometheus text exposition', contentType: 'text/plain' } } }, async ({ req, reply }) => {
    const h = req.headers.authorization;
    const bearer = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    // Constant-time comparison of digests: the scrape token is a secret.
    const tokenOk = tokenHash !== undefined && bearer !== undefined && timingSafeEqual(sha256(bearer), tokenHash);
    if (tokenHash !== undefined && !tokenOk && !keys) throw new TallyError('UNAUTHENTICATED', 'GET /metrics needs `Authorization: Bearer <server.metricsToken>`');
    if (keys && !tokenOk) {
      const principal = keys.verify(bearer);
      requireScope(principal, 'read');
      if (principal.tenant) throw new TallyError('FORBIDDEN', `a key bound to tenant "${principal.tenant}" cannot read server-wide metrics`);
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
