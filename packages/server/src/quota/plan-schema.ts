import { PolicyError, validatePolicies, type Policy } from '@tally/limiter';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { planBillingFields } from '../billing/pricing/price-schema.ts';
import { parseQuantity } from '../shared/decimal.ts';
import { ENFORCEMENT_MODES, FAILURE_POLICIES } from './counters.ts';
import { PERIOD_UNITS, parseAnchor } from './period.ts';

/** One entitlement of a plan: a limit on a meter's usage per period. */
export const entitlementSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, ".", "_" and "-"')
      .optional()
      .describe('names the entitlement (default: the meter slug); a plan with several entitlements on one meter gives each its own id'),
    meter: z.string().min(1).describe('slug of a COUNT or SUM meter, or of a TIME_WEIGHTED_SUM meter with enforcement: soft'),
    filter: z
      .record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]))
      .optional()
      .describe("dimension filters: only usage whose dimension (one of the meter's groupBy) equals the value, or one of the values, counts (e.g. { model: gpt-4 })"),
    period: z.enum(PERIOD_UNITS).describe('usage resets every hour, day or month'),
    // Checks are per field (not one object refinement) so every bad field is reported at once.
    timeZone: z
      .string()
      .default('UTC')
      .refine((tz) => IANAZone.isValidZone(tz), { error: (i) => `"${String(i.input)}" is not an IANA time zone` })
      .describe('IANA zone whose wall clock the periods follow'),
    anchor: z
      .string()
      .refine((a) => parseAnchor(a, 'UTC') !== undefined, { error: (i) => `"${String(i.input)}" is not an ISO date-time (e.g. "2026-01-15" or "2026-01-15T09:00")` })
      .optional()
      .describe('ISO date-time the periods count from, e.g. "2026-01-15" for billing months starting on the 15th (wall time in timeZone); default: calendar-aligned'),
    limit: z
      .union([z.string(), z.number()])
      .superRefine((l, ctx) => {
        const q = parseQuantity(l);
        if (typeof q !== 'bigint') ctx.addIssue({ code: 'custom', message: `must be a decimal number with at most 12 fractional digits (got ${JSON.stringify(l)})` });
        else if (q < 0n) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
      })
      .describe('exact decimal; usage above it is denied (hard) or warned about (soft)'),
    enforcement: z.enum(['hard', 'soft']).default('hard').describe('hard: consumption beyond the limit is denied; soft: recorded and warned about'),
    mode: z.enum(ENFORCEMENT_MODES).default('central').describe('distributed profile: central (Redis on every check, exact), leased (nodes lease chunks of the remaining allowance), local (per-node counters synced periodically, soft limits)'),
    failurePolicy: z.enum(FAILURE_POLICIES).optional().describe('while Redis is unreachable: open admits, closed denies, open-then-closed admits for quotas.failOpenSeconds then denies (default: closed for hard, open for soft)'),
  })
  .strict();

/** A rate-limit policy of a plan (enforced per tenant by `@tally/limiter`). */
export const rateLimitSchema = z
  .object({
    name: z.string().describe('shown in the RateLimit headers'),
    algorithm: z.enum(['gcra', 'sliding-log', 'sliding-window', 'fixed-window']).default('gcra'),
    limit: z.number().int().positive(),
    windowSeconds: z.number().int().positive(),
    burst: z.number().int().positive().optional().describe('gcra only: bucket capacity (default: limit)'),
  })
  .strict();

/** A rate-limit entry as the limiter takes it. */
export function toPolicy(r: z.infer<typeof rateLimitSchema>): Policy {
  return { name: r.name, algorithm: r.algorithm, limit: r.limit, windowMs: r.windowSeconds * 1000, ...(r.burst === undefined ? {} : { burst: r.burst }) };
}

const always = { when: () => true };

/**
 * Entitlements of a plan; ids (default: the meter) unique, so several entitlements on one meter
 * each name an id (checked even when some entry is invalid).
 */
const entitlementsSchema = z
  .array(entitlementSchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((e, i) => {
      const { meter, id } = (e ?? {}) as { meter?: unknown; id?: unknown };
      const key = typeof id === 'string' ? id : meter;
      if (typeof key !== 'string') return;
      if (seen.has(key)) {
        const message = typeof id === 'string' ? `id "${id}" is already used in this plan` : `meter "${key}" already has an entitlement in this plan (give each entitlement of a meter its own id)`;
        ctx.addIssue({ code: 'custom', path: [i, typeof id === 'string' ? 'id' : 'meter'], message });
      }
      seen.add(key);
    });
  }, always);

/** Rate-limit policies of a plan, validated together by the limiter (names unique, integer math safe). */
const rateLimitsSchema = z
  .array(rateLimitSchema)
  .default([])
  .superRefine((list, ctx) => {
    if (list.length === 0) return;
    try {
      validatePolicies(list.map(toPolicy));
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      for (const problem of err.problems) {
        const m = /^policies\[(\d+)\]\.?(\w*)/.exec(problem);
        const path = m ? [Number(m[1]), ...(m[2] ? [m[2] === 'windowMs' ? 'windowSeconds' : m[2]] : [])] : [];
        ctx.addIssue({ code: 'custom', path, message: problem.replace(/^[^:]*:\s*/, '') });
      }
    }
  })
  .describe('policies checked together, all or nothing, on POST /v1/quota/consume');

/**
 * A plan: entitlements per meter, rate-limit policies, and prices (billing/pricing). Tenants
 * name it in `tenants[].plan`.
 */
export const planSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    entitlements: entitlementsSchema,
    rateLimits: rateLimitsSchema,
    ingestRateLimits: rateLimitsSchema.describe('policies on POST /v1/events (requests per window), checked per tenant or per key (ingestRateLimitPer); 429 INGEST_RATE_LIMITED, the SDK re-sends'),
    ingestRateLimitPer: z.enum(['tenant', 'key']).default('tenant').describe('what an ingest rate limit counts: requests carrying the tenant, or requests of one API key for the plan'),
    ...planBillingFields,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.prices.length > 0 && p.currency === undefined) ctx.addIssue({ code: 'custom', path: ['currency'], message: 'a plan with prices needs a currency (ISO 4217, e.g. USD)' });
    if (p.minimumSpend !== undefined && p.currency === undefined) ctx.addIssue({ code: 'custom', path: ['currency'], message: 'a plan with a minimumSpend needs a currency' });
  });

/** The config's `plans`: ids unique (checked even when some plan is invalid). */
export const plansSchema = z
  .array(planSchema)
  .default([])
  .superRefine((plans, ctx) => {
    const seen = new Set<string>();
    plans.forEach((p, i) => {
      const id = (p as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') return;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate plan id "${id}"` });
      seen.add(id);
    });
  }, always);

/** A validated plan. */
export type PlanConfig = z.infer<typeof planSchema>;
/** A validated entitlement. */
export type EntitlementConfig = z.infer<typeof entitlementSchema>;
