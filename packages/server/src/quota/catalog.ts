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

/**
 * Why a TIME_WEIGHTED_SUM entitlement can only be soft: its usage is an integral over time (the
 * samples' values held until the next sample), not a counter a call adds to, so no call can be
 * admitted or denied against it; its usage is read from the exact query (`time-weighted-usage.ts`).
 */
export const TIME_WEIGHTED_HARD = 'is TIME_WEIGHTED_SUM: its usage is an integral over time (each sample held until the next), not a counter a call increments, so a call cannot be admitted or denied against it; use enforcement: soft (usage, warnings and alerts work as for other soft entitlements)';

/** A compiled entitlement: the limit as a scaled integer (×10^12). */
export interface Entitlement {
  readonly plan: string;
  /** Unique in the plan (default: the meter slug); names the live counter. */
  readonly id: string;
  readonly meter: string;
  /** Dimension filters: index into the meter's dimensions, the values that count. */
  readonly filter: readonly { readonly dim: number; readonly name: string; readonly values: readonly string[] }[];
  /** TIME_WEIGHTED_SUM: soft only, usage integrated by the query service instead of a live counter. */
  readonly aggregation: 'COUNT' | 'SUM' | 'TIME_WEIGHTED_SUM';
  readonly period: PeriodSpec;
  /** The limit in force: the plan's (or its override's) plus what grants add in the current period. */
  readonly limit: bigint;
  /** What grants add to `limit` in the current period (absent: none); see `grants/standing.ts`. */
  readonly granted?: bigint;
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
  /** Policies on `POST /v1/events` (requests), counted per tenant or per API key. */
  readonly ingestRateLimits: readonly Policy[];
  readonly ingestPer: 'tenant' | 'key';
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
  private readonly byTenantMeter = new Map<string, Entitlement[]>();
  private readonly byTenantId = new Map<string, Entitlement>();
  private readonly defaultOn = new Map<string, Entitlement[]>();
  private readonly defaultById = new Map<string, Entitlement>();

  private constructor(
    readonly plans: readonly Plan[],
    /** The plan of tenants the config does not list (`quotas.defaultPlan`; quotas only, not billing). */
    readonly defaultPlan?: Plan,
  ) {
    for (const e of defaultPlan?.entitlements ?? []) {
      this.defaultOn.set(e.meter, [...(this.defaultOn.get(e.meter) ?? []), e]);
      this.defaultById.set(e.id, e);
    }
    for (const p of plans) {
      for (const t of p.tenants) {
        this.planOfTenant.set(t, p);
        for (const e of p.entitlements) {
          const k = `${t}\u0000${e.meter}`;
          this.byTenantMeter.set(k, [...(this.byTenantMeter.get(k) ?? []), e]);
          this.byTenantId.set(`${t}\u0000${e.id}`, e);
        }
      }
    }
  }

  /**
   * Compiles the config's plans. Meter references are checked here, not in the config schema,
   * because meters may also have been created through the API; every problem is returned by path.
   */
  static compile(config: Pick<TallyConfig, 'plans' | 'tenants'> & { quotas?: { defaultPlan?: string | undefined } }, meters: MeterRegistry): { catalog: PlanCatalog; problems: Problem[] } {
    const problems: Problem[] = [];
    const plans = config.plans.map((p, i): Plan => {
      const entitlements: Entitlement[] = [];
      p.entitlements.forEach((e, j) => {
        const meter = meters.get(e.meter);
        const aggregation = meter?.def.aggregation;
        if (aggregation === undefined) problems.push({ path: `plans.${i}.entitlements.${j}.meter`, message: `unknown meter "${e.meter}"` });
        else if (aggregation === 'TIME_WEIGHTED_SUM' && e.enforcement === 'hard') {
          problems.push({ path: `plans.${i}.entitlements.${j}.enforcement`, message: `hard enforcement is refused: meter "${e.meter}" ${TIME_WEIGHTED_HARD}` });
        } else if (aggregation !== 'COUNT' && aggregation !== 'SUM' && aggregation !== 'TIME_WEIGHTED_SUM') {
          problems.push({ path: `plans.${i}.entitlements.${j}.meter`, message: `meter "${e.meter}" is ${aggregation}; quotas need an additive meter (${QUOTA_AGGREGATIONS.join(' or ')}, or TIME_WEIGHTED_SUM with enforcement: soft)` });
        } else {
          const period: PeriodSpec = { unit: e.period, timeZone: e.timeZone, anchor: e.anchor };
          const filter = Object.entries(e.filter ?? {}).flatMap(([name, v]) => {
            const dim = meter!.dimensions.indexOf(name);
            if (dim < 0) problems.push({ path: `plans.${i}.entitlements.${j}.filter.${name}`, message: `meter "${e.meter}" has no dimension "${name}" (it has ${meter!.dimensions.map((d) => `"${d}"`).join(', ') || 'none'})` });
            return dim < 0 ? [] : [{ dim, name, values: typeof v === 'string' ? [v] : v }];
          });
          entitlements.push({ plan: p.id, id: e.id ?? e.meter, filter, meter: e.meter, aggregation, period, limit: parseQuantity(e.limit) as bigint, hard: e.enforcement === 'hard', mode: e.mode, failurePolicy: e.failurePolicy ?? (e.enforcement === 'hard' ? 'closed' : 'open') });
        }
      });
      problems.push(...checkPrices(p.prices, i, meters));
      const tenants = config.tenants.filter((t) => t.plan === p.id).map((t) => t.id);
      return { id: p.id, entitlements, rateLimits: p.rateLimits.map(toPolicy), ingestRateLimits: p.ingestRateLimits.map(toPolicy), ingestPer: p.ingestRateLimitPer, tenants, config: p };
    });
    problems.push(...checkPlanChanges(config));
    const defaultId = config.quotas?.defaultPlan;
    const defaultPlan = defaultId === undefined ? undefined : plans.find((p) => p.id === defaultId);
    if (defaultId !== undefined && defaultPlan === undefined) problems.push({ path: 'quotas.defaultPlan', message: `unknown plan "${defaultId}"` });
    return { catalog: new PlanCatalog(plans, defaultPlan), problems };
  }

  /** A catalog of already compiled plans (run-time overrides rebuild it; see `overrides/apply.ts`). */
  static of(plans: readonly Plan[], defaultPlan?: Plan): PlanCatalog {
    return new PlanCatalog(plans, defaultPlan);
  }

  /** The plan a tenant is on, if any. */
  planOf(tenant: string): Plan | undefined {
    return this.planOfTenant.get(tenant) ?? this.defaultPlan;
  }

  /** True when the config lists the tenant on a plan (false for the default plan's tenants). */
  listed(tenant: string): boolean {
    return this.planOfTenant.has(tenant);
  }

  /** The tenant's entitlement with this id (by default an entitlement's id is its meter), if any. */
  entitlement(tenant: string, id: string): Entitlement | undefined {
    return this.byTenantId.get(`${tenant}\u0000${id}`) ?? (this.listed(tenant) ? undefined : this.defaultById.get(id));
  }

  /** Every entitlement of the tenant's plan on a meter (empty without one). */
  entitlementsOn(tenant: string, meter: string): readonly Entitlement[] {
    return this.byTenantMeter.get(`${tenant}\u0000${meter}`) ?? (this.listed(tenant) ? [] : (this.defaultOn.get(meter) ?? []));
  }
}

/** Whether a reading's dimensions pass an entitlement's filters. */
export function passes(ent: Entitlement, dims: readonly (string | null)[]): boolean {
  return ent.filter.every((f) => f.values.includes(dims[f.dim] as string));
}
