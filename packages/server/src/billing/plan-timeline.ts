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

/** A plan assignment made at run time (`PUT /v1/tenants/{tenant}`); `plan: null` returns to the config's. */
export interface RuntimePlanChange {
  tenant: string;
  at: EpochMicros;
  plan: string | null;
}

/**
 * Which plan a tenant is on when: its `plan`, then each `billing.planChanges` from its
 * `effective` time, merged with the plan changes made through the API (the latest dated change
 * wins; an API change back to `null` returns to what the config says from then on). A change
 * inside a billing period splits the period into parts (usage billed per part, flat fees
 * prorated by time). The billing period itself is laid out by the plan in effect at the time
 * asked about; plans a tenant moves between share currency and period length (checked by
 * `checkPlanChanges` for the config; an API change to a plan with another currency or period
 * length takes effect at the end of the period it falls in, so no invoice mixes them).
 */
export class PlanTimeline {
  /** Steps per tenant; `plan: null` from an API change back to a config that assigns no plan. */
  private byTenant = new Map<string, { from: EpochMicros; plan: PlanConfig | null }[]>();
  private readonly configured = new Map<string, { from: EpochMicros; plan: PlanConfig | null }[]>();
  private readonly profiles = new Map<string, TenantBilling>();
  private readonly plans: Map<string, PlanConfig>;

  constructor(config: Pick<TallyConfig, 'plans' | 'tenants'>) {
    const plans = new Map(config.plans.map((p) => [p.id, p]));
    this.plans = plans;
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
      if (steps.length > 0) this.configured.set(t.id, steps);
      if (t.billing) this.profiles.set(t.id, t.billing);
    }
    this.byTenant = this.configured;
  }

  /**
   * Replaces the plan changes made through the API (all of them, in any order). Each becomes a
   * step at its time: its plan, or for `null` the configured plan of each configured step after
   * it until the next API change.
   */
  setRuntimeChanges(changes: readonly RuntimePlanChange[]): void {
    const byTenant = new Map(this.configured);
    const sorted = [...changes].sort((a, b) => a.at - b.at);
    for (const tenant of new Set(sorted.map((c) => c.tenant))) {
      const config = this.configured.get(tenant) ?? [];
      const api = sorted.filter((c) => c.tenant === tenant);
      const configAt = (at: EpochMicros) => config.filter((s) => s.from <= at).at(-1)?.plan ?? null;
      const merged: { from: EpochMicros; plan: PlanConfig | null }[] = [];
      const events = [...config.map((s) => ({ at: s.from, kind: 'config' as const, plan: s.plan })), ...api.map((c) => ({ at: c.at, kind: 'api' as const, plan: c.plan === null ? null : (this.plans.get(c.plan) ?? null), id: c.plan }))].sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'config' ? -1 : 1));
      for (const e of events) {
        if (e.kind === 'api' && e.id !== null && e.plan === null) continue; // a plan unknown to billing
        const plan = e.kind === 'config' ? e.plan : (e.plan ?? configAt(e.at));
        // A later change supersedes one still waiting for its period's end.
        while (merged.length > 0 && merged.at(-1)!.from > e.at) merged.pop();
        const before = merged.at(-1)?.plan;
        // A change that keeps the plan (an entitlement override) does not split a period.
        if (merged.length > 0 && (before?.id ?? null) === (plan?.id ?? null)) continue;
        if (!plan) {
          merged.push({ from: e.at, plan: null });
          continue;
        }
        // A plan with another currency or period length starts when the current period ends.
        const from = e.kind === 'api' && before && (before.currency !== plan.currency || before.billingPeriod !== plan.billingPeriod) ? billingPeriodAt(before, this.profile(tenant), e.at).end : e.at;
        while (merged.length > 0 && merged.at(-1)!.from >= from) merged.pop();
        merged.push({ from, plan });
      }
      if (merged.length > 0) byTenant.set(tenant, merged);
    }
    this.byTenant = byTenant;
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
    for (const s of this.byTenant.get(tenant) ?? []) if (s.from <= at) plan = s.plan ?? undefined;
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
