import { z } from 'zod';
import { parseQuantity } from '../../shared/decimal.ts';

/** One entitlement's run-time override for one tenant. */
export const entitlementOverrideSchema = z
  .object({
    limit: z
      .union([z.string(), z.number()])
      .refine((l) => {
        const q = parseQuantity(l);
        return typeof q === 'bigint' && q >= 0n;
      }, 'must be a decimal ≥ 0 with at most 12 fractional digits')
      .optional(),
    enforcement: z.enum(['hard', 'soft']).optional(),
  })
  .strict();

/** `PUT /v1/tenants/{tenant}`: the tenant's plan and per-entitlement overrides (replaces the previous ones). */
export const tenantQuotaBodySchema = z
  .object({
    plan: z.string().min(1).nullable().optional().describe("plan id; null: back to the config's assignment (or the default plan)"),
    entitlements: z.record(z.string(), entitlementOverrideSchema).default({}).describe('per entitlement id: limit and/or enforcement replacing the plan’s'),
  })
  .strict();

/** A tenant's run-time quota settings. */
export type TenantQuota = z.infer<typeof tenantQuotaBodySchema> & { updatedAt: string; updatedBy: string };

/** Every tenant's run-time quota settings, versioned (one document in the store's meta). */
export interface QuotaOverrides {
  version: number;
  tenants: Record<string, TenantQuota>;
}

/** The store meta key holding {@link QuotaOverrides}. */
export const OVERRIDES_META = 'quota_overrides';
/** Event type of the audit record of each change. */
export const OVERRIDE_EVENT_TYPE = 'tally.quota.override';

/** Parses the stored document (empty when absent). */
export function parseOverrides(raw: string | undefined): QuotaOverrides {
  if (raw === undefined) return { version: 0, tenants: {} };
  return JSON.parse(raw) as QuotaOverrides;
}
