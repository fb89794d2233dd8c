import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireMeter, type Principal } from '../../../auth/keys.ts';
import { TallyError } from '../../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierProblem, valueProblem } from '../../../events/identifiers.ts';
import type { TallyMetrics } from '../../../ops/metrics.ts';
import { MICROS_PER_HOUR, MICROS_PER_MINUTE, parseRfc3339, type Clock, type EpochMicros } from '../../../shared/time.ts';
import type { QueryService, UsageQuery } from '../../../usage/query-service.ts';
import { MAX_WINDOWS } from '../../../usage/windows.ts';
import { parseWith, type Router } from '../../route.ts';
import type { MeterCatalog, ResolvedMeter } from './catalog.ts';
import { meterQueryBodySchema, meterQueryParamsSchema, meterQueryResultSchema } from './schemas.ts';

/** An OpenMeter query, from GET parameters or a POST body. */
export type OpenMeterQuery = z.infer<typeof meterQueryBodySchema>;
type QueryAnswer = z.infer<typeof meterQueryResultSchema>;

/**
 * Where an omitted `from` starts: OpenMeter reads "from the beginning of time"; Tally lays windows
 * out explicitly, so the beginning is 2000-01-01 — or, for MINUTE and HOUR windows, as far back as
 * the 100,000-window limit of one query reaches (about 69 days of minutes, 11 years of hours).
 */
export const OPENMETER_EPOCH: EpochMicros = Date.UTC(2000, 0, 1) * 1000;

function defaultFrom(now: EpochMicros, windowSize: OpenMeterQuery['windowSize']): EpochMicros {
  const width = windowSize === 'MINUTE' ? MICROS_PER_MINUTE : windowSize === 'HOUR' ? MICROS_PER_HOUR : undefined;
  if (width === undefined) return OPENMETER_EPOCH;
  return Math.max(OPENMETER_EPOCH, Math.floor(now / width) * width - (MAX_WINDOWS - 2) * width);
}

function parseTime(v: string | undefined, name: string): EpochMicros | undefined {
  if (v === undefined) return undefined;
  const t = parseRfc3339(v);
  if (t === undefined) throw new TallyError('VALIDATION_FAILED', `${name}: "${v}" is not RFC 3339 (e.g. 2026-11-01T00:00:00Z)`, [{ path: name, message: 'not RFC 3339' }]);
  return t;
}

const asList = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** GET parameters as the POST body: `filterGroupBy[dim]=value` collected, lists as arrays, unknown names refused. */
export function fromQueryString(query: z.infer<typeof meterQueryParamsSchema>): OpenMeterQuery {
  const out: Record<string, unknown> = {};
  const filterGroupBy: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(query)) {
    const m = /^filterGroupBy\[(.+)\]$/.exec(k);
    if (m) filterGroupBy[m[1]!] = asList(v as string | string[])!;
    else if (k === 'subject' || k === 'groupBy' || k === 'filterCustomerId') out[k] = asList(v as string | string[]);
    else if (k.startsWith('advancedMeterGroupByFilters')) out.advancedMeterGroupByFilters = { [k]: v };
    else out[k] = v;
  }
  if (Object.keys(filterGroupBy).length > 0) out.filterGroupBy = filterGroupBy;
  return parseWith(meterQueryBodySchema, out, 'query');
}

/** Refuses identifiers and values no stored event can hold, as the native query does. */
function check(where: string, values: readonly string[], problem: (s: string) => string | undefined): void {
  for (const v of values) {
    const p = problem(v);
    if (p) throw new TallyError('INVALID_IDENTIFIER', `${where}: ${JSON.stringify(v).slice(0, 80)} ${p}`, [{ path: where, message: p }]);
  }
}

/**
 * The usage question an OpenMeter query asks. `subject` is the tenant: filtering by subjects
 * also groups by subject (as OpenMeter does), and `groupBy=subject` is Tally's `tenant`. A portal
 * token (`tenant` set) reads its own subject only. The meter's `eventFrom` moves `from` forward.
 */
export function toUsageQuery(meter: ResolvedMeter, q: OpenMeterQuery, tenant: string | null, now: EpochMicros): UsageQuery {
  if (q.filterCustomerId !== undefined) throw new TallyError('UNSUPPORTED_PARAMETER', 'filterCustomerId: Tally has no customer entity; filter by subject (the tenant) instead');
  if (q.advancedMeterGroupByFilters !== undefined) throw new TallyError('UNSUPPORTED_PARAMETER', 'advancedMeterGroupByFilters: not supported; use filterGroupBy[dimension]=value (exact match)');
  const groupBy = new Set<string>();
  for (const g of q.groupBy ?? []) {
    if (g === 'customer_id') throw new TallyError('UNSUPPORTED_PARAMETER', 'groupBy=customer_id: Tally has no customer entity; group by subject instead');
    if (g === 'tenant') throw new TallyError('VALIDATION_FAILED', `groupBy: meter "${meter.slug}" has no dimension "tenant" (group by subject with groupBy=subject)`, [{ path: 'groupBy', message: 'unknown dimension "tenant"' }]);
    groupBy.add(g === 'subject' ? 'tenant' : g);
  }
  let tenants = q.subject;
  check('subject', tenants ?? [], (t) => identifierProblem(t, IDENTIFIER_LIMITS.tenant));
  if (tenants && tenants.length > 0) groupBy.add('tenant');
  if (tenant !== null) {
    if (tenants?.some((t) => t !== tenant)) throw new TallyError('FORBIDDEN', `this token may only read subject "${tenant}"`);
    tenants = [tenant];
  }
  const to = parseTime(q.to, 'to');
  let from = parseTime(q.from, 'from') ?? defaultFrom(to ?? now, q.windowSize);
  const eventFrom = meter.generation.eventFrom === undefined ? undefined : parseRfc3339(meter.generation.eventFrom);
  if (eventFrom !== undefined && from < eventFrom) from = eventFrom;
  const uq: UsageQuery = { meter: meter.generation.tallySlug, from, windowTimeZone: q.windowTimeZone ?? 'UTC', groupBy: [...groupBy] };
  if (to !== undefined) uq.to = to;
  if (q.windowSize) uq.windowSize = q.windowSize;
  if (tenants && tenants.length > 0) uq.tenants = tenants;
  if (q.filterGroupBy) {
    for (const [k, v] of Object.entries(q.filterGroupBy)) check(`filterGroupBy[${k}]`, v, valueProblem);
    uq.filterGroupBy = q.filterGroupBy;
  }
  return uq;
}

function checkAccept(req: FastifyRequest): void {
  const accept = req.headers.accept;
  if (accept && !/application\/json|\*\/\*|application\/\*/.test(accept)) throw new TallyError('NOT_ACCEPTABLE', `cannot answer "${accept}": this API answers application/json (CSV: use GET /v1/meters/{slug}/query with Accept: text/csv)`);
}

/** What the query routes need. */
export interface OpenMeterQueryDeps {
  catalog: MeterCatalog;
  queries: QueryService;
  metrics: TallyMetrics;
  clock: Clock;
}

/**
 * Runs an OpenMeter query through the one QueryService and answers OpenMeter's shape: `value`
 * as a JSON number (the exact decimal string is what `/v1/meters/{slug}/query` answers),
 * `subject` for tenant; `from`, `to` and `windowSize` echoed when they were given.
 */
export async function answerQuery(d: OpenMeterQueryDeps, idOrSlug: string, q: OpenMeterQuery, principal: Principal | null, tenant: string | null, req: FastifyRequest): Promise<QueryAnswer> {
  checkAccept(req);
  const meter = await d.catalog.resolve(idOrSlug);
  requireMeter(principal, meter.slug);
  const end = d.metrics.queryLatency.startTimer();
  const result = await d.queries.query(toUsageQuery(meter, q, tenant, d.clock.nowMicros()));
  end({ resolution: result.resolution });
  const out: QueryAnswer = {
    data: result.data.map((r) => ({ value: r.value === null ? null : Number(r.value), windowStart: r.windowStart, windowEnd: r.windowEnd, subject: r.tenant, groupBy: r.groupBy })),
  };
  if (q.from !== undefined) out.from = result.from;
  if (q.to !== undefined) out.to = result.to;
  if (result.windowSize !== null) out.windowSize = result.windowSize;
  return out;
}

/** `GET|POST /api/v1/meters/{meterIdOrSlug}/query`. */
export function openMeterQueryRoutes(router: Router, d: OpenMeterQueryDeps): void {
  const params = z.object({ meterIdOrSlug: z.string().min(1) });
  const responses = { 200: { description: 'Usage rows, OpenMeter’s shape', schema: meterQueryResultSchema } };
  const tag = 'openmeter';
  router.add({ method: 'GET', url: '/api/v1/meters/:meterIdOrSlug/query', summary: 'OpenMeter: query a meter', tag, scope: 'read', params, query: meterQueryParamsSchema, responses }, async ({ params: p, query, principal, req }) =>
    answerQuery(d, p.meterIdOrSlug, fromQueryString(query), principal, principal?.tenant ?? null, req),
  );
  router.add({ method: 'POST', url: '/api/v1/meters/:meterIdOrSlug/query', summary: 'OpenMeter: query a meter (parameters in a JSON body)', tag, scope: 'read', params, body: meterQueryBodySchema, responses }, async ({ params: p, body, principal, req }) =>
    answerQuery(d, p.meterIdOrSlug, body, principal, principal?.tenant ?? null, req),
  );
}
