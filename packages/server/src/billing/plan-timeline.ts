import type { TallyConfig } from '../config/schema.ts';
import type { Problem } from '../errors/registry.ts';
import type { Period } from '../quota/period.ts';
import type { PlanConfig } from '../quota/plan-schema.ts';
import { parseRfc3339, type EpochMicros } from '../shared/time.ts';
import { DEFAULT_BILLING, billingPeriodAt, type TenantBilling } from './profile.ts';

/** A stretch of a billing period under one plan. */
export interface PeriodPart {
  start: EpochMicros;
  end: EpochMicros;
  plan: PlanConfig;
}

/**
 * Which plan a tenant is on when: its `plan`, then each `billing.planChanges` from its
 * `effective` time. A change inside a billing period splits the period into parts (usage billed
 * per part, flat fees prorated by time). The billing period itself is laid out by the plan in
 * effect at the time asked about; plans a tenant moves between share currency and period length
 * (checked by `checkPlanChanges`).
 */
export class PlanTimeline {
  private readonly byTenant = new Map<string, { from: EpochMicros; plan: PlanConfig }[]>();
  private readonly profiles = new Map<string, TenantBilling>();

  constructor(config: Pick<TallyConfig, 'plans' | 'tenants'>) {
    const plans = new Map(config.plans.map((p) => [p.id, p]));
    for (const t of config.tenants) {
      const steps: { from: EpochMicros; plan: PlanConfig }[] = [];
      const first = t.plan === undefined ? undefined : plans.get(t.plan);
      if (first) steps.push({ from: Number.MIN_SAFE_INTEGER, plan: first });
      for (const c of t.billing?.planChanges ?? []) {
        const plan = plans.get(c.plan);
        const from = parseRfc3339(c.effective);
        if (plan && from !== undefined) steps.push({ from, plan });
      }
      steps.sort((a, b) => a.from - b.from);
      if (steps.length > 0) this.byTenant.set(t.id, steps);
      if (t.billing) this.profiles.set(t.id, t.billing);
    }
  }

  /** Tenants with at least one plan. */
  tenants(): string[] {
    return [...this.byTenant.keys()];
  }

  profile(tenant: string): TenantBilling {
    return this.profiles.get(tenant) ?? DEFAULT_BILLING;
  }

  /** The plan in effect at `at` (undefined before the tenant's first plan or for an unknown tenant). */
  planAt(tenant: string, at: EpochMicros): PlanConfig | undefined {
    let plan: PlanConfig | undefined;
    for (const s of this.byTenant.get(tenant) ?? []) if (s.from <= at) plan = s.plan;
    return plan;
  }

  /** The billing period holding `at`, laid out by the plan in effect then. */
  periodAt(tenant: string, at: EpochMicros): Period | undefined {
    const plan = this.planAt(tenant, at);
    return plan ? billingPeriodAt(plan, this.profile(tenant), at) : undefined;
  }

  /** The parts of a period, each under one plan (stretches without a plan are left out). */
  parts(tenant: string, period: Period): PeriodPart[] {
    const cuts = [period.start, ...(this.byTenant.get(tenant) ?? []).map((s) => s.from).filter((t) => t > period.start && t < period.end), period.end];
    const out: PeriodPart[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const plan = this.planAt(tenant, cuts[i]!);
      if (plan) out.push({ start: cuts[i]!, end: cuts[i + 1]!, plan });
    }
    return out;
  }
}

/** Every problem of the tenants' plan changes, by path: unknown plans, and a change of currency or period length. */
export function checkPlanChanges(config: Pick<TallyConfig, 'plans' | 'tenants'>): Problem[] {
  const plans = new Map(config.plans.map((p) => [p.id, p]));
  const problems: Problem[] = [];
  config.tenants.forEach((t, i) => {
    const first = t.plan === undefined ? undefined : plans.get(t.plan);
    (t.billing?.planChanges ?? []).forEach((c, j) => {
      const path = `tenants.${i}.billing.planChanges.${j}.plan`;
      const plan = plans.get(c.plan);
      if (!plan) return void problems.push({ path, message: `unknown plan "${c.plan}"` });
      if (first && (plan.currency !== first.currency || plan.billingPeriod !== first.billingPeriod)) {
        problems.push({ path, message: `plan "${c.plan}" bills in ${plan.currency ?? 'no currency'} per ${plan.billingPeriod}, plan "${first.id}" in ${first.currency ?? 'no currency'} per ${first.billingPeriod}: a tenant's plans must share currency and period length` });
      }
    });
  });
  return problems;
}
