import { z } from 'zod';
import { IDENTIFIER_LIMITS, identifierSchema } from '../events/identifiers.ts';

/**
 * What a rule watches. Each kind is one source file in `sources/` (picked by `sources/index.ts`).
 * quota: thresholds of an entitlement; traffic-*: a tenant's usage against its own seasonal
 * baseline; ingest-rejections: a tenant's rejected events (alerts/ingest-stats.ts);
 * reconciliation / canary / job-failed / consumer-lag: data health; invoice-finalized /
 * credit-low: business events.
 */
export const RULE_KINDS = ['quota', 'traffic-drop', 'traffic-silence', 'traffic-spike', 'ingest-rejections', 'reconciliation', 'canary', 'job-failed', 'consumer-lag', 'invoice-finalized', 'credit-low'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Kinds a tenant-bound key may subscribe its own endpoint to (its quota, its invoices and credit). */
export const TENANT_KINDS: readonly RuleKind[] = ['quota', 'invoice-finalized', 'credit-low'];

/** Kinds that need a meter. */
export const METER_KINDS: readonly RuleKind[] = ['quota', 'traffic-drop', 'traffic-silence', 'traffic-spike'];

const threshold = z.string().regex(/^(\d{1,4}(\.\d{1,2})?%|projected-overage)$/, 'a percentage such as "80%" or "projected-overage"');

/** Tuning of the anomaly kinds (docs/alerts.md states the statistic). */
export const anomalySchema = z
  .object({
    windowMinutes: z.number().int().min(5).max(1440).default(60).describe('the stretch of recent usage compared (silence: the minutes without events)'),
    weeks: z.number().int().min(3).max(12).default(4).describe('past weeks whose same hour-of-day and day-of-week form the baseline'),
    sensitivity: z.number().min(1).max(50).default(4).describe('k in |observed − median| > k × 1.4826 × MAD'),
    minChange: z.number().min(0).max(100).default(0.5).describe('and the relative change must be at least this (0.5 = 50 %)'),
    minBaseline: z.string().regex(/^\d+(\.\d+)?$/).default('10').describe('tenants whose baseline median is below this are not watched (not "normally active")'),
  })
  .strict();
export type AnomalyParams = z.infer<typeof anomalySchema>;

/** Tuning of the `ingest-rejections` kind. */
export const rejectionSchema = z
  .object({
    rate: z.string().regex(/^\d{1,3}(\.\d{1,2})?%$/, 'a percentage such as "5%"').default('5%').describe('fires when rejected × 100 ≥ rate × (accepted + duplicates + rejected), exactly'),
    minEvents: z.number().int().min(1).default(20).describe('and the tenant sent at least this many events in the window'),
    windowMinutes: z.number().int().min(1).max(1440).default(15).describe('the whole receive minutes before the evaluation that are counted'),
  })
  .strict();

/** A rule as configured or sent to `POST /v1/alerts/rules`. */
export const ruleInputSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "-" and "_"').optional().describe('default: generated'),
    name: z.string().min(1).max(200).optional(),
    kind: z.enum(RULE_KINDS),
    scope: z
      .object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional(), plan: z.string().min(1).optional() })
      .strict()
      .default({})
      .describe('no tenant and no plan: all tenants'),
    meter: z.string().min(1).optional().describe('quota and traffic kinds'),
    thresholds: z.array(threshold).min(1).default(['80%', '100%']).describe('quota: percentages of the limit, and/or "projected-overage"'),
    anomaly: anomalySchema.default(anomalySchema.parse({})),
    minCredit: z.string().regex(/^\d+(\.\d+)?$/).default('0').describe('credit-low: fires when a tenant with grants has at most this much credit left (per currency)'),
    rejection: rejectionSchema.default(rejectionSchema.parse({})).describe('ingest-rejections: the rejection rate per tenant'),
    maxLag: z.number().int().min(0).default(10_000).describe('consumer-lag: messages behind'),
    channels: z.array(z.string().min(1)).default([]).describe('ids of webhook endpoints notified'),
    cooldownMinutes: z.number().int().min(0).default(30).describe('after a resolve, the same subject firing again within this reopens the alert without a new notification'),
    renotifyMinutes: z.number().int().min(0).default(0).describe('notify again while firing and not acknowledged (0: never)'),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (METER_KINDS.includes(r.kind) && r.meter === undefined) ctx.addIssue({ code: 'custom', path: ['meter'], message: `a ${r.kind} rule needs a meter` });
    if (r.scope.tenant !== undefined && r.scope.plan !== undefined) ctx.addIssue({ code: 'custom', path: ['scope'], message: 'a tenant or a plan, not both' });
  });
export type RuleInput = z.input<typeof ruleInputSchema>;

/** A stored rule. */
export type Rule = z.infer<typeof ruleInputSchema> & { id: string; createdAt: string; updatedAt: string; source: 'config' | 'api' };

/** Does the rule's scope take this tenant (on this plan)? */
export function inScope(rule: Rule, tenant: string, plan: string | undefined): boolean {
  if (rule.scope.tenant !== undefined) return rule.scope.tenant === tenant;
  if (rule.scope.plan !== undefined) return rule.scope.plan === plan;
  return true;
}
