import { z } from 'zod';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';

/** Schemas of the `/v1/analytics` edge: they validate requests and document them in `/openapi.json`. */
const tenant = identifierSchema(IDENTIFIER_LIMITS.tenant);
const eventType = identifierSchema(IDENTIFIER_LIMITS.type);
const property = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a top-level key of letters, digits and _');
const filter = z.record(property, z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(100)])).describe('top-level string properties of the event data: the event matches when each is one of the values');
const step = z.object({ eventType, filter: filter.optional() }).strict();
const time = z.string().describe('RFC 3339');
const tenants = z.union([tenant, z.array(tenant).min(1).max(1000)]).optional().describe('only these tenants');
const by = z.enum(['actor', 'tenant']).default('actor').describe('count end users (tenant + hashed actor; events without an actor are skipped) or tenants');
const period = z.enum(['DAY', 'WEEK', 'MONTH']);
const format = z.enum(['json', 'csv']).optional().describe('or Accept: text/csv');

export const funnelBody = z
  .object({
    steps: z.array(step).min(1).max(10),
    windowSeconds: z.number().int().min(1).max(366 * 86_400),
    from: time,
    to: time,
    by,
    tenant: tenants,
    plan: z.string().max(200).optional().describe('only the configured tenants on this plan'),
    breakdown: property.optional().describe("a top-level string property of the subject's first step-1 event"),
  })
  .strict();

export const retentionBody = z
  .object({
    startEvent: z.union([eventType, step]),
    returnEvent: z.union([eventType, step]),
    period: period.default('WEEK'),
    periods: z.number().int().min(0).max(400).default(12),
    from: time,
    to: time,
    by,
    timeZone: z.string().max(100).default('UTC'),
    tenant: tenants,
    plan: z.string().max(200).optional(),
  })
  .strict();

export const formatQuery = z.object({ format }).strict();

const range = { from: time.optional().describe('default: 30 days before `to`'), to: time.optional().describe('default: now (next whole minute)') };
const tenantQuery = z.union([tenant, z.array(tenant).max(1000)]).optional();

export const adoptionQuery = z
  .object({
    eventType: eventType.default('feature.used'),
    dimension: property.default('feature'),
    period: period.default('WEEK'),
    timeZone: z.string().max(100).default('UTC'),
    ...range,
    tenant: tenantQuery,
    plan: z.string().max(200).optional().describe('segment: only the configured tenants on this plan'),
    format,
  })
  .strict();

export const topQuery = z
  .object({
    meter: z.string().min(1).max(200),
    by: z.string().min(1).max(200).default('tenant').describe('"tenant" or a dimension of the meter'),
    limit: z.coerce.number().int().min(1).max(10_000).default(10),
    ...range,
    tenant: tenantQuery,
    approximate: z.enum(['true', 'false']).default('false').describe('true: Space-Saving over the raw events (for high-cardinality dimensions), labelled with its bound'),
    counters: z.coerce.number().int().min(1).max(100_000).optional().describe('Space-Saving counters (default 1000): every value is off by at most total / counters'),
    format,
  })
  .strict();

export const trendQuery = z
  .object({
    meter: z.string().min(1).max(200),
    ...range,
    windowSize: z.enum(['MINUTE', 'HOUR', 'DAY', 'MONTH']).optional(),
    timeZone: z.string().max(100).default('UTC'),
    tenant: tenantQuery,
    format,
  })
  .strict();

export const percentileQuery = z
  .object({
    meter: z.string().min(1).max(200),
    ...range,
    tenant: tenantQuery,
    approximate: z.enum(['true', 'false']).default('false').describe('true: DDSketch, every value within ±1 % (relative); false: exact from every raw value'),
    format,
  })
  .strict();

export const uniquesQuery = z.object({ meter: z.string().min(1).max(200), ...range, tenant: tenantQuery, format }).strict();

const stepAnswer = z.object({ eventType: z.string(), count: z.number().int(), conversion: z.number(), conversionFromPrevious: z.number(), medianSecondsFromPrevious: z.number().nullable().describe('lower median') });
export const funnelAnswer = z.object({ steps: z.array(stepAnswer), breakdown: z.array(z.object({ value: z.string().nullable(), steps: z.array(stepAnswer) })).optional(), approximate: z.literal(false) });
export const retentionAnswer = z.object({
  period,
  timeZone: z.string(),
  periods: z.number().int(),
  cohorts: z.array(z.object({ cohort: z.string().describe('local start date of the period'), size: z.number().int(), returning: z.array(z.number().int()), observed: z.number().int().describe('offsets begun before `to`') })),
  approximate: z.literal(false),
});
const point = z.object({ period: z.string(), tenants: z.number().int(), users: z.number().int(), tenantShare: z.number(), userShare: z.number(), cumulativeTenants: z.number().int() });
export const adoptionAnswer = z.object({
  eventType: z.string(),
  dimension: z.string(),
  period,
  timeZone: z.string(),
  activeTenants: z.number().int(),
  activeUsers: z.number().int(),
  periods: z.array(z.object({ period: z.string(), activeTenants: z.number().int(), activeUsers: z.number().int() })),
  features: z.array(z.object({ feature: z.string(), tenants: z.number().int(), users: z.number().int(), tenantShare: z.number(), userShare: z.number(), firstUse: z.string(), bucket: z.enum(['broad', 'niche']).nullable().describe('broad: used by ≥ 80 % of active tenants; niche: ≤ 5 %'), series: z.array(point) })),
  approximate: z.literal(false),
});
const topItem = z.object({ rank: z.number().int(), key: z.string().nullable(), value: z.string().describe('exact decimal (an upper bound when approximate)'), minValue: z.string().optional().describe('approximate: guaranteed lower bound'), share: z.number(), cumulativeShare: z.number() });
export const topAnswer = z.object({ meter: z.string(), by: z.string(), from: z.string(), to: z.string(), total: z.string(), groups: z.number().int().optional(), items: z.array(topItem), rest: z.string().optional(), approximate: z.boolean(), errorBound: z.object({ maxOverestimate: z.string(), counters: z.number().int() }).optional() });
const trendSide = z.object({ from: z.string(), to: z.string(), value: z.string().nullable(), series: z.array(z.unknown()) });
export const trendAnswer = z.object({ meter: z.string(), aggregation: z.string(), current: trendSide, previous: trendSide, changePercent: z.string().nullable(), approximate: z.literal(false) });
export const percentileAnswer = z.object({ meter: z.string(), from: z.string(), to: z.string(), count: z.number().int(), percentiles: z.record(z.string(), z.string().nullable()), definition: z.string(), approximate: z.boolean(), errorBound: z.object({ relative: z.number() }).nullable() });
export const uniquesAnswer = z.object({ meter: z.string(), from: z.string(), to: z.string(), estimate: z.number().int(), approximate: z.literal(true), errorBound: z.object({ standardError: z.number(), within: z.number(), confidence: z.number() }) });
