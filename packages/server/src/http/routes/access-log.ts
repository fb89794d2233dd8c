import { z } from 'zod';
import { TallyError } from '../../errors/registry.ts';
import type { AccessLogRepo } from '../../privacy/access-log/repo.ts';
import type { AccessRecorder } from '../../privacy/access-log/recorder.ts';
import { verifyAccessLog } from '../../privacy/access-log/verify.ts';
import { formatMicros } from '../../shared/time.ts';
import { timeParam, type Router } from '../route.ts';

const entry = z.object({
  chain: z.string(),
  seq: z.number(),
  at: z.string(),
  keyId: z.string().nullable(),
  scope: z.string(),
  tenants: z.array(z.string()),
  method: z.string(),
  endpoint: z.string(),
  params: z.record(z.string(), z.unknown()),
  status: z.number(),
  rows: z.number().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});

/**
 * `GET /v1/audit`: the access log, newest first (admin: everything; a tenant-bound key: the
 * entries about its tenant — who at the provider looked at my data). `GET /v1/audit/verify`
 * (admin): re-hashes every chain.
 */
export function accessLogRoutes(router: Router, d: { repo: AccessLogRepo; recorder: AccessRecorder }): void {
  router.add(
    {
      method: 'GET',
      url: '/v1/audit',
      summary: 'The access log: every read of usage data and every admin action, hash-chained (newest first)',
      tag: 'privacy',
      scope: 'read',
      query: z.object({ tenant: z.string().optional(), key: z.string().optional(), from: z.string().optional(), to: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
      responses: { 200: { description: 'Entries', schema: z.object({ data: z.array(entry) }) } },
    },
    async ({ query, principal }) => {
      const admin = principal!.scopes.includes('admin');
      if (!admin && !principal!.tenant) throw new TallyError('FORBIDDEN', 'the access log needs an admin key, or a key bound to a tenant (which sees the entries about its tenant)');
      if (principal!.tenant && query.tenant !== undefined && query.tenant !== principal!.tenant) throw new TallyError('FORBIDDEN', `this key reads the access log of tenant "${principal!.tenant}" only`);
      // This call's own entry is written after it answers; earlier ones are all stored already.
      await d.recorder.flush();
      const tenant = principal!.tenant ?? query.tenant;
      const rows = await d.repo.list({ ...(tenant === undefined ? {} : { tenant }), ...(query.key === undefined ? {} : { keyId: query.key }), ...(query.from === undefined ? {} : { from: timeParam(query.from, 'query.from')! }), ...(query.to === undefined ? {} : { to: timeParam(query.to, 'query.to')! }), limit: query.limit });
      return { data: rows.map((e) => ({ ...e, at: formatMicros(e.at) })) };
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/v1/audit/verify',
      summary: 'Re-hash every chain of the access log and report the first altered, missing or reordered entry',
      tag: 'privacy',
      scope: 'admin',
      responses: {
        200: {
          description: 'The report (ok: false names each broken chain and entry)',
          schema: z.object({ ok: z.boolean(), chains: z.array(z.object({ chain: z.string(), entries: z.number(), fromSeq: z.number().describe('first entry checked: after a retention checkpoint, the one after the last dropped entry'), lastSeq: z.number(), lastHash: z.string() })), breaks: z.array(z.object({ chain: z.string(), seq: z.number(), reason: z.string() })) }),
        },
      },
    },
    async () => {
      await d.recorder.flush();
      return verifyAccessLog(d.repo);
    },
  );
}
