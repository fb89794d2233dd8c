import { IANAZone } from 'luxon';
import { z } from 'zod';
import { parseAnchor, periodAt, type Period } from '../quota/period.ts';
import type { PlanConfig } from '../quota/plan-schema.ts';
import { parseRfc3339, type EpochMicros } from '../shared/time.ts';

/** A tenant's billing profile in config (`tenants[].billing`). */
export const tenantBillingSchema = z
  .object({
    anchor: z
      .string()
      .refine((a) => parseAnchor(a, 'UTC') !== undefined, { error: (i) => `"${String(i.input)}" is not an ISO date (e.g. "2026-01-15")` })
      .optional()
      .describe('the first day of a billing period (wall time in timeZone); default: calendar months, Monday weeks, midnights'),
    timeZone: z
      .string()
      .default('UTC')
      .refine((tz) => IANAZone.isValidZone(tz), { error: (i) => `"${String(i.input)}" is not an IANA time zone` }),
    planChanges: z
      .array(
        z
          .object({
            plan: z.string().min(1).describe('id of the plan from this moment on'),
            effective: z.string().refine((t) => parseRfc3339(t) !== undefined, { error: (i) => `"${String(i.input)}" is not an RFC 3339 time (e.g. 2026-12-15T00:00:00Z)` }),
          })
          .strict(),
      )
      .default([])
      .describe('later plans with the time each takes effect; a change inside a billing period splits it (usage per part, flat fees prorated by time)'),
  })
  .strict();

/** A tenant's billing profile, with defaults. */
export type TenantBilling = z.infer<typeof tenantBillingSchema>;

/** The default profile: calendar periods in UTC. */
export const DEFAULT_BILLING: TenantBilling = { timeZone: 'UTC', planChanges: [] };

/** The billing period of `plan` for a tenant with `profile` that holds `at`. */
export function billingPeriodAt(plan: PlanConfig, profile: TenantBilling, at: EpochMicros): Period {
  return periodAt({ unit: plan.billingPeriod, timeZone: profile.timeZone, anchor: profile.anchor }, at);
}

/** The config's `billing` section. */
export const billingConfigSchema = z
  .object({
    graceHours: z.number().min(0).max(24 * 35).default(1).describe('a period is invoiced this many hours after it ends; late events inside the grace land on its invoice, later ones on the next as adjustments'),
    issuerName: z.string().min(1).max(200).default('Tally').describe('who issues the invoices (printed on the PDF)'),
    creditNotes: z.enum(['credit', 'refund']).default('credit').describe('what a void does with the amount paid: keep it as a credit grant for later invoices, or leave it to be refunded outside Tally'),
    autoFinalize: z.boolean().default(false).describe('finalize reconciled drafts automatically (else POST /v1/invoices/{id}/finalize after review)'),
    reviewHours: z
      .number()
      .min(0)
      .max(24 * 35)
      .default(0)
      .describe('with autoFinalize: a draft stays open for review this many hours after it is due (period end + graceHours), recomputed every run, then is finalized'),
  })
  .strict();
