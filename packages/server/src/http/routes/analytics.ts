import type { FastifyReply } from 'fastify';
import type { Principal } from '../../auth/keys.ts';
import { adoptionCsv, funnelCsv, percentilesCsv, retentionCsv, topCsv, trendCsv, uniquesCsv } from '../../analytics/csv.ts';
import type { FunnelStep } from '../../analytics/model.ts';
import type { AnalyticsService } from '../../analytics/service.ts';
import { TallyError } from '../../errors/registry.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE, type Clock } from '../../shared/time.ts';
import { checkTimeZone } from '../../usage/windows.ts';
import { timeParam, type Router } from '../route.ts';
import { adoptionAnswer, adoptionQuery, formatQuery, funnelAnswer, funnelBody, percentileAnswer, percentileQuery, retentionAnswer, retentionBody, topAnswer, topQuery, trendAnswer, trendQuery, uniquesAnswer, uniquesQuery } from './analytics-schemas.ts';
import { wantsCsv } from './query.ts';

/** The tenants a question may see: asked ones, narrowed to a plan, and never beyond a portal key's tenant. */
function scopeTenants(svc: AnalyticsService, principal: Principal | null, asked: string | string[] | undefined, plan: string | undefined): string[] | undefined {
  let tenants = asked === undefined ? undefined : [asked].flat();
  if (plan !== undefined) {
    const onPlan = new Set(svc.tenantsOnPlan(plan));
    tenants = tenants ? tenants.filter((t) => onPlan.has(t)) : [...onPlan];
  }
  if (principal?.tenant) {
    if (tenants?.some((t) => t !== principal.tenant)) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
    tenants = [principal.tenant];
  }
  return tenants;
}

/** [from, to) of a question: given, or the 30 days up to the next whole minute. */
function range(clock: Clock, from: string | undefined, to: string | undefined, where: string): { from: number; to: number } {
  const end = timeParam(to, `${where}.to`) ?? Math.ceil(clock.nowMicros() / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
  const start = timeParam(from, `${where}.from`) ?? end - 30 * MICROS_PER_DAY;
  if (start >= end) throw new TallyError('VALIDATION_FAILED', `${where}.from must be before ${where}.to`, [{ path: `${where}.from`, message: 'not before to' }]);
  return { from: start, to: end };
}

const asStep = (s: string | { eventType: string; filter?: Record<string, string | string[]> | undefined }): FunnelStep =>
  typeof s === 'string' ? { eventType: s } : { eventType: s.eventType, filter: s.filter && Object.fromEntries(Object.entries(s.filter).map(([k, v]) => [k, [v].flat()])) };

/** Sends JSON, or CSV (as a download) when the caller asked for it. */
function answer<T>(reply: FastifyReply, accept: string | undefined, format: string | undefined, name: string, value: T, csv: (v: T) => string): T | FastifyReply {
  if (!wantsCsv(accept, format)) return value;
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(csv(value));
}

/** `/v1/analytics/*`: funnels, retention, adoption, top-N, trends, percentiles and approximate uniques. */
export function analyticsRoutes(router: Router, svc: AnalyticsService, clock: Clock): void {
  const tag = 'analytics';
  router.add(
    { method: 'POST', url: '/v1/analytics/funnel', summary: 'Funnel: subjects reaching each step in order within windowSeconds of their first step 1 in [from, to) (earliest complete path; exact)', tag, scope: 'read', body: funnelBody, query: formatQuery, responses: { 200: { description: 'Steps with counts, conversion and median time from the previous step (CSV with Accept: text/csv)', schema: funnelAnswer } } },
    async ({ body, query, principal, req, reply }) => {
      const r = range(clock, body.from, body.to, 'body');
      const q = { steps: body.steps.map(asStep), windowMicros: body.windowSeconds * 1_000_000, ...r, by: body.by, tenants: scopeTenants(svc, principal, body.tenant, body.plan), breakdown: body.breakdown };
      return answer(reply, req.headers.accept, query.format, 'funnel', await svc.funnel(q), funnelCsv);
    },
  );
  router.add(
    { method: 'POST', url: '/v1/analytics/retention', summary: "Retention cohorts: subjects by the period of their first start event (in the time zone), and how many return in each following period (exact)", tag, scope: 'read', body: retentionBody, query: formatQuery, responses: { 200: { description: 'Cohorts (CSV with Accept: text/csv)', schema: retentionAnswer } } },
    async ({ body, query, principal, req, reply }) => {
      checkTimeZone(body.timeZone);
      const r = range(clock, body.from, body.to, 'body');
      const q = { startEvent: asStep(body.startEvent), returnEvent: asStep(body.returnEvent), period: body.period, periods: body.periods, ...r, by: body.by, timeZone: body.timeZone, tenants: scopeTenants(svc, principal, body.tenant, body.plan) };
      return answer(reply, req.headers.accept, query.format, 'retention', await svc.retention(q), retentionCsv);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/analytics/adoption', summary: 'Feature adoption: per feature and period, tenants and end users using it, shares of the active ones, first use, adoption curve, ≥ 80 % / ≤ 5 % buckets (exact)', tag, scope: 'read', query: adoptionQuery, responses: { 200: { description: 'Adoption (CSV with Accept: text/csv)', schema: adoptionAnswer } } },
    async ({ query: p, principal, req, reply }) => {
      checkTimeZone(p.timeZone);
      const q = { eventType: p.eventType, dimension: p.dimension, period: p.period, timeZone: p.timeZone, ...range(clock, p.from, p.to, 'query'), tenants: scopeTenants(svc, principal, p.tenant, p.plan) };
      return answer(reply, req.headers.accept, p.format, 'adoption', await svc.adoption(q), adoptionCsv);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/analytics/top', summary: 'Top-N of a COUNT or SUM meter by tenant or dimension with share and cumulative share: exact from the rollups, or Space-Saving over raw events (approximate=true, labelled with its bound)', tag, scope: 'read', query: topQuery, responses: { 200: { description: 'Ranked items (CSV with Accept: text/csv)', schema: topAnswer } } },
    async ({ query: p, principal, req, reply }) => {
      const q = { meter: p.meter, by: p.by, limit: p.limit, ...range(clock, p.from, p.to, 'query'), tenants: scopeTenants(svc, principal, p.tenant, undefined) };
      const a = p.approximate === 'true' ? await svc.approximateTop({ ...q, counters: p.counters }) : await svc.top(q);
      return answer(reply, req.headers.accept, p.format, 'top', a, topCsv);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/analytics/trends', summary: 'A meter over [from, to) against the same length just before, with change % (exact)', tag, scope: 'read', query: trendQuery, responses: { 200: { description: 'Current and previous values (CSV with Accept: text/csv)', schema: trendAnswer } } },
    async ({ query: p, principal, req, reply }) => {
      checkTimeZone(p.timeZone);
      const q = { meter: p.meter, ...range(clock, p.from, p.to, 'query'), windowSize: p.windowSize, timeZone: p.timeZone, tenants: scopeTenants(svc, principal, p.tenant, undefined) };
      return answer(reply, req.headers.accept, p.format, 'trend', await svc.trend(q), trendCsv);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/analytics/percentiles', summary: 'p50/p90/p95/p99 of a valued meter from raw events: exact, or DDSketch (approximate=true, ±1 % relative, labelled)', tag, scope: 'read', query: percentileQuery, responses: { 200: { description: 'Percentiles (CSV with Accept: text/csv)', schema: percentileAnswer } } },
    async ({ query: p, principal, req, reply }) => {
      const q = { meter: p.meter, ...range(clock, p.from, p.to, 'query'), tenants: scopeTenants(svc, principal, p.tenant, undefined) };
      return answer(reply, req.headers.accept, p.format, 'percentiles', await svc.percentiles(q, p.approximate === 'true'), percentilesCsv);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/analytics/uniques', summary: 'Approximate distinct values of a UNIQUE_COUNT meter (HyperLogLog, labelled; never used for billing or quotas — the exact count is the meter query)', tag, scope: 'read', query: uniquesQuery, responses: { 200: { description: 'Estimate with its bound (CSV with Accept: text/csv)', schema: uniquesAnswer } } },
    async ({ query: p, principal, req, reply }) => {
      const q = { meter: p.meter, ...range(clock, p.from, p.to, 'query'), tenants: scopeTenants(svc, principal, p.tenant, undefined) };
      return answer(reply, req.headers.accept, p.format, 'uniques', await svc.uniques(q), uniquesCsv);
    },
  );
}
