import { z } from 'zod';
import type { Capacity } from '../../capacity/setup.ts';
import { TIERS } from '../../capacity/storage-stats.ts';
import { isCurrency } from '../../billing/money.ts';
import { monthPeriod } from '../../costs/period.ts';
import { TallyError } from '../../errors/registry.ts';
import type { Principal } from '../../auth/keys.ts';
import type { Clock } from '../../shared/time.ts';
import type { Router } from '../route.ts';
import { forecastRoutes } from './forecast.ts';

const days = z.coerce.number().int().min(1).max(36_500).optional();
const tierPlan = z.object({ tier: z.enum(TIERS), tables: z.array(z.string()), bytesNow: z.number().describe('bytes'), rowsNow: z.number(), bytesPerEvent: z.number().describe('bytes per stored event'), retentionDays: z.number().nullable(), projectedBytes: z.number().describe('bytes') });
const capacityAnswer = z.object({
  engine: z.string(),
  measuredBy: z.string(),
  eventsPerDayBasis: z.string(),
  retentionDays: z.record(z.string(), z.number()),
  approximate: z.literal(true),
  storedEvents: z.number(),
  eventsPerDay: z.number(),
  tiers: z.array(tierPlan),
  total: z.object({ bytesNow: z.number(), bytesPerEvent: z.number(), projectedBytes: z.number() }),
});
const part = z.object({ tenant: z.string(), amount: z.string(), basis: z.enum(['shared', 'dedicated']), usage: z.string() });
const costReport = z.object({
  period: z.string(),
  from: z.string(),
  to: z.string(),
  costs: z.array(z.object({ name: z.string(), currency: z.string(), allocateBy: z.string(), unit: z.string().nullable(), total: z.string().describe('pool + dedicated: the parts and unallocated sum to it exactly'), pool: z.string(), unallocated: z.string(), parts: z.array(part) })),
  tenants: z.array(z.object({ tenant: z.string(), currency: z.string(), amount: z.string(), costs: z.array(z.object({ name: z.string(), amount: z.string() })) })),
});
const appliedRate = z.object({ from: z.string(), to: z.string(), rate: z.string().describe('1 from = rate to, as configured'), inverse: z.boolean().describe('the configured rate was to→from: the amount was divided by it'), effective: z.string() });
const marginReport = z.object({
  period: z.string(),
  from: z.string(),
  to: z.string(),
  revenueBasis: z.string(),
  currency: z.string().nullable().describe('the reporting currency asked for; null: each tenant in its revenue currency'),
  exchangeRateBasis: z.string(),
  tenants: z.array(z.object({ tenant: z.string(), plan: z.string().nullable(), currency: z.string().nullable(), revenue: z.string().nullable(), revenueSource: z.enum(['finalized', 'draft', 'upcoming', 'none']), cost: z.string().nullable(), margin: z.string().nullable(), flagged: z.boolean().describe('cost exceeds revenue'), note: z.string().nullable(), conversions: z.array(appliedRate).describe('exchange rates applied to this tenant') })),
  plans: z.array(z.object({ plan: z.string(), currency: z.string(), revenue: z.string(), cost: z.string(), margin: z.string(), tenants: z.number(), flagged: z.number() })),
});
const periodQuery = z.object({ period: z.string().optional().describe('a UTC month, e.g. 2026-11 (default: the current month)') });
const marginQuery = periodQuery.extend({ currency: z.string().refine(isCurrency, 'an ISO 4217 currency code such as USD').optional().describe('report every tenant in this currency (converted at the configured exchange rates)') });

/** Server-wide figures: a key bound to one tenant may not read them. */
function serverWide(p: Principal | null): void {
  if (p?.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${p.tenant}"; capacity and costs are server-wide`);
}

/** Capacity and costs: forecasts, the storage planner, cost attribution and margins. */
export function capacityRoutes(router: Router, c: Capacity, clock: Clock): void {
  forecastRoutes(router, c.forecasts);
  router.add(
    {
      method: 'GET',
      url: '/v1/capacity',
      summary: 'Storage plan per tier (raw, rollups, unique facts) from measured bytes per event × forecast events per day × retention; what-if parameters replace any input',
      tag: 'capacity',
      scope: 'read',
      query: z.object({
        eventsPerDay: z.coerce.number().min(0).optional().describe('what-if: events per day (default: the forecast)'),
        meter: z.string().optional().describe('COUNT meter to forecast events per day from'),
        horizonDays: z.coerce.number().int().min(1).max(90).optional().describe('days of forecast averaged into events per day (default 30)'),
        rawDays: days.describe('what-if: raw event retention in days'),
        minuteDays: days.describe('what-if: minute rollup retention'),
        hourDays: days.describe('what-if: hour rollup retention'),
        dayDays: days.describe('what-if: day rollup retention'),
        uniqueDays: days.describe('what-if: unique facts retention'),
      }),
      responses: { 200: { description: 'The storage plan', schema: capacityAnswer } },
    },
    async ({ query, principal }) => {
      serverWide(principal);
      const r: Record<string, number> = {};
      for (const t of ['raw', 'minute', 'hour', 'day', 'unique'] as const) {
        const v = query[`${t}Days`];
        if (v !== undefined) r[t] = v;
      }
      return c.capacity.plan({ retentionDays: r, ...(query.eventsPerDay !== undefined ? { eventsPerDay: query.eventsPerDay } : {}), ...(query.meter ? { meter: query.meter } : {}), ...(query.horizonDays ? { horizonDays: query.horizonDays } : {}) });
    },
  );
  router.add(
    { method: 'GET', url: '/v1/costs', summary: 'Shared costs attributed to tenants for a month, per cost and per tenant (exact; parts sum to the whole)', tag: 'costs', scope: 'admin', query: periodQuery, responses: { 200: { description: 'The attribution', schema: costReport } } },
    async ({ query }) => c.costs.attribute(monthPeriod(query.period, clock.nowMicros())),
  );
  router.add(
    { method: 'GET', url: '/v1/costs/margin', summary: 'Unit economics for a month: revenue (invoices) minus attributed cost per tenant and per plan; tenants costing more than they pay flagged; other currencies converted at the configured exchange rates', tag: 'costs', scope: 'admin', query: marginQuery, responses: { 200: { description: 'Margins', schema: marginReport } } },
    async ({ query }) => c.margin.margin(monthPeriod(query.period, clock.nowMicros()), query.currency),
  );
}
