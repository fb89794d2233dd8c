import type { Policy } from '@tally/limiter';
import type { TallyConfig } from '../config/schema.ts';
import type { Problem } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { parseQuantity } from '../shared/decimal.ts';
import type { EnforcementMode, FailurePolicyName } from './counters.ts';
import type { PeriodSpec } from './period.ts';
import { toPolicy, type PlanConfig } from './plan-schema.ts';
import { checkPrices } from '../billing/plan-check.ts';
import { checkPlanChanges } from '../billing/plan-timeline.ts';

/** Aggregations a quota can limit: usage must be additive so the live counter is a running sum. */
export const QUOTA_AGGREGATIONS: readonly string[] = ['COUNT', 'SUM'];

/** A compiled entitlement: the limit as a scaled integer (×10^12). */
export interface Entitlement {
  readonly plan: string;
  readonly meter: string;
  readonly aggregation: 'COUNT' | 'SUM';
  readonly period: PeriodSpec;
  readonly limit: bigint;
  readonly hard: boolean;
  /** How checks reach the shared counters (distributed profile). */
  readonly mode: EnforcementMode;
  /** What decides while the shared counters are unreachable. */
  readonly failurePolicy: FailurePolicyName;
}

/** A compiled plan. */
export interface Plan {
  readonly id: string;
  readonly entitlements: readonly Entitlement[];
  readonly rateLimits: readonly Policy[];
  readonly tenants: readonly string[];
  /** The plan as configured (billing reads its currency, period and prices). */
  readonly config: PlanConfig;
}

/**
 * Plans and which tenant is on which, with entitlements checked against the live meters:
 * the one read model quotas use. Lookups by tenant and meter are single Map reads (hot path).
 */
export class PlanCatalog {
  private readonly planOfTenant = new Map<string, Plan>();
  private readonly byTenantMeter = new Map<string, Entitlement>();

  private constructor(readonly plans: readonly Plan[]) {
    for (const p of plans) {
      for (const t of p.tenants) {
        this.planOfTenant.set(t, p);
        for (const e of p.entitlements) this.byTenantMeter.set(`${t}\u0000${e.meter}`, e);
      }
    }
  }

  /**
   * Compiles the config's plans. Meter references are checked here, not in the config schema,
   * because meters may also have been created through the API; every problem is returned by path.
   */
  static compile(config: Pick<TallyConfig, 'plans' | 'tenants'>, meters: MeterRegistry): { catalog: PlanCatalog; problems: Problem[] } {
    const problems: Problem[] = [];
    const plans = config.plans.map((p, i): Plan => {
      const entitlements: Entitlement[] = [];
      p.entitlements.forEach((e, j) => {
        const meter = meters.get(e.meter);
        const aggregation = meter?.def.aggregation;
        if (aggregation === undefined) problems.push({ path: `plans.${i}.entitlements.${j}.meter`, message: `unknown meter "${e.meter}"` });
        else if (aggregation !== 'COUNT' && aggregation !== 'SUM') {
          problems.push({ path: `plans.${i}.entitlements.${j}.meter`, message: `meter "${e.meter}" is ${aggregation}; quotas need an additive meter (${QUOTA_AGGREGATIONS.join(' or ')})` });
        } else {
          const period: PeriodSpec = { unit: e.period, timeZone: e.timeZone, anchor: e.anchor };
          entitlements.push({ plan: p.id, meter: e.meter, aggregation, period, limit: parseQuantity(e.limit) as bigint, hard: e.enforcement === 'hard', mode: e.mode, failurePolicy: e.failurePolicy ?? (e.enforcement === 'hard' ? 'closed' : 'open') });
        }
      });
      problems.push(...checkPrices(p.prices, i, meters));
      const tenants = config.tenants.filter((t) => t.plan === p.id).map((t) => t.id);
      return { id: p.id, entitlements, rateLimits: p.rateLimits.map(toPolicy), tenants, config: p };
    });
    problems.push(...checkPlanChanges(config));
    return { catalog: new PlanCatalog(plans), problems };
  }

  /** The plan a tenant is on, if any. */
  planOf(tenant: string): Plan | undefined {
    return this.planOfTenant.get(tenant);
  }

  /** The tenant's entitlement on a meter, if its plan has one. */
  entitlement(tenant: string, meter: string): Entitlement | undefined {
    return this.byTenantMeter.get(`${tenant}\u0000${meter}`);
  }
}
