import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { TallyError } from '../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierProblem, valueProblem } from '../../events/identifiers.ts';
import type { TallyMetrics } from '../../ops/metrics.ts';
import type { QueryService, UsageQuery, UsageResult } from '../../usage/query-service.ts';
import { WINDOW_SIZES, parseWindowSize, type WindowSize } from '../../usage/windows.ts';
import { requireMeter, type Principal } from '../../auth/keys.ts';
import { parseWith, timeParam, type Router } from '../route.ts';
import { toCsv } from '../csv.ts';

const list = z.union([z.string(), z.array(z.string())]).optional();
/** Rows per answer unless `limit` says otherwise: a per-minute query over many groups stays bounded. */
export const DEFAULT_ROWS = 10_000;
const MAX_ROWS = 100_000;

/** `windowSize` in any letter case (`day` as well as `DAY`), answered in upper case. */
export const windowSizeSchema = z
  .string()
  // Spelled out per letter (no `i` flag): the pattern is published in /openapi.json, where flags do not exist.
  .regex(new RegExp(`^(?:${WINDOW_SIZES.map((w) => [...w].map((c) => `[${c}${c.toLowerCase()}]`).join('')).join('|')})$`), `one of ${WINDOW_SIZES.join(', ')} (any letter case)`)
  .transform((s) => parseWindowSize(s) as WindowSize);

const common = {
  from: z.string().optional().describe('RFC 3339, inclusive; default: 24 hours before `to`'),
  to: z.string().optional().describe('RFC 3339, exclusive; default: now, rounded up to the minute'),
  windowSize: windowSizeSchema.optional().describe('MINUTE, HOUR, DAY or MONTH, in any letter case; omit for one row per group over the whole range'),
  windowTimeZone: z.string().optional().describe('IANA zone for DAY and MONTH boundaries; default UTC'),
  tenant: list.describe('one or more tenants (repeat or comma-separate)'),
  groupBy: list.describe('dimensions to group by, and/or "tenant"'),
  limit: z.coerce.number().int().min(1).max(MAX_ROWS).optional().describe(`at most this many rows (default ${DEFAULT_ROWS.toLocaleString('en')}, at most ${MAX_ROWS.toLocaleString('en')}); the answer says \`truncated\` and gives \`nextOffset\``),
  offset: z.coerce.number().int().min(0).optional().describe('rows to skip (the previous answer\'s nextOffset)'),
};

/** GET parameters; `filterGroupBy[dim]=value` parameters are read separately. */
export const queryParamsSchema = z.object({ ...common, format: z.enum(['json', 'csv']).optional().describe('alternative to the Accept header') }).catchall(z.union([z.string(), z.array(z.string())]));
/** POST body. */
export const queryBodySchema = z.object({ ...common, filterGroupBy: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional() }).strict();

const usageRow = z.object({ value: z.string().nullable(), windowStart: z.string(), windowEnd: z.string(), tenant: z.string().nullable(), groupBy: z.record(z.string(), z.string().nullable()) });
const usageResult = z.object({
  meter: z.string(),
  aggregation: z.string(),
  from: z.string(),
  to: z.string(),
  windowSize: z.string().nullable(),
  windowTimeZone: z.string(),
  resolution: z.enum(['day', 'hour', 'minute', 'raw']).describe('what served the answer: a rollup resolution, or raw events'),
  data: z.array(usageRow),
  totalRows: z.number().describe('rows of the whole answer'),
  truncated: z.boolean().describe('more rows follow: ask again with offset = nextOffset'),
  nextOffset: z.number().nullable(),
});

function splitList(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const out = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  return out.length > 0 ? out : undefined;
}

/** Refuses tenants and filter values no stored event can hold (NUL, lone surrogates…) with a clear 400. */
function checkStrings(where: string, values: readonly string[] | undefined, problem: (s: string) => string | undefined): void {
  for (const v of values ?? []) {
    const p = problem(v);
    if (p) throw new TallyError('INVALID_IDENTIFIER', `${where}: ${JSON.stringify(v).slice(0, 80)} ${p}`, [{ path: where, message: p }]);
  }
}

/** Builds the service query, applying the tenant binding of portal keys. */
function toUsageQuery(slug: string, p: z.infer<typeof queryBodySchema>, principal: Principal | null): UsageQuery {
  requireMeter(principal, slug);
  let tenants = splitList(p.tenant);
  checkStrings('tenant', tenants, (t) => identifierProblem(t, IDENTIFIER_LIMITS.tenant));
  if (principal?.tenant) {
    if (tenants && tenants.some((t) => t !== principal.tenant)) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
    tenants = [principal.tenant];
  }
  const q: UsageQuery = { meter: slug, windowTimeZone: p.windowTimeZone ?? 'UTC' };
  const from = timeParam(p.from, 'from');
  const to = timeParam(p.to, 'to');
  if (from !== undefined) q.from = from;
  if (to !== undefined) q.to = to;
  if (p.windowSize) q.windowSize = p.windowSize;
  if (tenants) q.tenants = tenants;
  const groupBy = splitList(p.groupBy);
  if (groupBy) q.groupBy = groupBy;
  if (p.filterGroupBy) {
    q.filterGroupBy = Object.fromEntries(Object.entries(p.filterGroupBy).map(([k, v]) => [k, splitList(v) ?? []]));
    for (const [k, v] of Object.entries(q.filterGroupBy)) checkStrings(`filterGroupBy[${k}]`, v, valueProblem);
  }
  return q;
}

/** Whether a data answer goes out as CSV: `format` wins, else the Accept header (406 for anything else). */
export function wantsCsv(accept: string | undefined, format: string | undefined): boolean {
  if (format) return format === 'csv';
  if (!accept) return false;
  if (accept.includes('text/csv')) return true;
  if (/application\/json|\*\/\*|application\/\*/.test(accept)) return false;
  throw new TallyError('NOT_ACCEPTABLE', `cannot answer "${accept}": use Accept: application/json or text/csv`);
}

/** `GET|POST /v1/meters/{slug}/query`: JSON or CSV. */
export function queryRoutes(router: Router, queries: QueryService, metrics: TallyMetrics): void {
  const run = async (slug: string, p: z.infer<typeof queryBodySchema>, principal: Principal | null, accept: string | undefined, format: string | undefined, reply: FastifyReply) => {
    const csv = wantsCsv(accept, format);
    const end = metrics.queryLatency.startTimer();
    const full: UsageResult = await queries.query(toUsageQuery(slug, p, principal));
    end({ resolution: full.resolution });
    // Rows are answered in pages: the rows in order, `limit` of them from `offset`.
    const offset = p.offset ?? 0;
    const limit = p.limit ?? DEFAULT_ROWS;
    const truncated = offset + limit < full.data.length;
    const result = { ...full, data: full.data.slice(offset, offset + limit), totalRows: full.data.length, truncated, nextOffset: truncated ? offset + limit : null };
    void reply.header('x-tally-resolution', full.resolution);
    if (!csv) return result;
    void reply.header('x-tally-total-rows', String(full.data.length));
    if (truncated) void reply.header('x-tally-next-offset', String(offset + limit));
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${slug}.csv"`).send(toCsv(result));
  };
  const params = z.object({ slug: z.string() });
  const responses = { 200: { description: 'Usage rows (JSON, or CSV with Accept: text/csv)', schema: usageResult } };
  router.add({ method: 'GET', url: '/v1/meters/:slug/query', summary: 'Query a meter', tag: 'usage', scope: 'read', params, query: queryParamsSchema, responses }, async ({ params: { slug }, query, principal, req, reply }) => {
    const filterGroupBy: Record<string, string | string[]> = {};
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(query)) {
      const m = /^filterGroupBy\[(.+)\]$/.exec(k);
      if (m) filterGroupBy[m[1]!] = v as string | string[];
      else if (!(k in common) && k !== 'format') throw new TallyError('VALIDATION_FAILED', `unknown query parameter "${k}"`, [{ path: `query.${k}`, message: 'unknown parameter' }]);
      else if (k !== 'format') rest[k] = v;
    }
    const p = parseWith(queryBodySchema, { ...rest, filterGroupBy }, 'query');
    return run(slug, p, principal, req.headers.accept, query.format as string | undefined, reply);
  });
  router.add({ method: 'POST', url: '/v1/meters/:slug/query', summary: 'Query a meter (parameters in a JSON body)', tag: 'usage', scope: 'read', params, body: queryBodySchema, responses }, async ({ params: { slug }, body, principal, req, reply }) =>
    run(slug, body, principal, req.headers.accept, undefined, reply),
  );
}
