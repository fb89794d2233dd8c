import { parseQuantity } from '../../shared/decimal.ts';
import { PlanCatalog, TIME_WEIGHTED_HARD, type Entitlement, type Plan } from '../catalog.ts';
import type { QuotaOverrides, TenantQuota } from './overrides.ts';

/** Per tenant, per entitlement id: what grants add to the limit in the current period (×10^12). */
export type GrantExtras = ReadonlyMap<string, ReadonlyMap<string, bigint>>;

/** Problems of an override against the configured plans (empty when it can be applied). */
export function checkOverride(base: PlanCatalog, tenant: string, q: Pick<TenantQuota, 'plan' | 'entitlements'>): { path: string; message: string }[] {
  const plan = q.plan === null || q.plan === undefined ? base.planOf(tenant) : base.plans.find((p) => p.id === q.plan);
  if (plan === undefined) return [{ path: 'body.plan', message: q.plan ? `unknown plan "${q.plan}"` : 'the tenant has no plan to override; name one' }];
  return Object.entries(q.entitlements ?? {}).flatMap(([id, ov]) => {
    const ent = plan.entitlements.find((e) => e.id === id);
    if (ent === undefined) return [{ path: `body.entitlements.${id}`, message: `plan "${plan.id}" has no entitlement "${id}"` }];
    return ent.aggregation === 'TIME_WEIGHTED_SUM' && ov.enforcement === 'hard' ? [{ path: `body.entitlements.${id}.enforcement`, message: `hard enforcement is refused: meter "${ent.meter}" ${TIME_WEIGHTED_HARD}` }] : [];
  });
}

/**
 * The catalog with the run-time overrides applied to the configured one: a tenant moved to another
 * plan joins it; a tenant with entitlement overrides gets its own copy of its plan (same id) with
 * those limits and enforcements, plus what its grants add (`granted`). Overrides that no longer fit the config (a plan removed) are
 * skipped: the tenant keeps its configured plan.
 */
export function applyOverrides(base: PlanCatalog, o: QuotaOverrides, granted: GrantExtras = new Map()): PlanCatalog {
  const changed: [string, Pick<TenantQuota, 'plan' | 'entitlements'>][] = Object.entries(o.tenants).filter(([t, q]) => checkOverride(base, t, q).length === 0);
  // A tenant with grants gets its own copy of its plan too (limits raised by what its grants add).
  for (const t of granted.keys()) if (!changed.some(([c]) => c === t) && base.planOf(t) !== undefined) changed.push([t, { entitlements: {} }]);
  const moved = new Set(changed.map(([t]) => t));
  const plans: Plan[] = base.plans.map((p) => ({ ...p, tenants: p.tenants.filter((t) => !moved.has(t)) }));
  const copies: Plan[] = [];
  for (const [tenant, q] of changed) {
    const from = q.plan === null || q.plan === undefined ? base.planOf(tenant)! : base.plans.find((p) => p.id === q.plan)!;
    const target = plans.find((p) => p.id === from.id)!;
    const adds = granted.get(tenant);
    if (Object.keys(q.entitlements).length === 0 && adds === undefined) {
      (target.tenants as string[]).push(tenant);
      continue;
    }
    const entitlements = from.entitlements.map((e): Entitlement => {
      const ov = q.entitlements[e.id];
      const add = adds?.get(e.id);
      if (ov === undefined && add === undefined) return e;
      const limit = ov?.limit !== undefined ? (parseQuantity(ov.limit) as bigint) : e.limit;
      return { ...e, limit: limit + (add ?? 0n), ...(add !== undefined ? { granted: add } : {}), ...(ov?.enforcement ? { hard: ov.enforcement === 'hard' } : {}) };
    });
    copies.push({ ...from, entitlements, tenants: [tenant] });
  }
  const def = base.defaultPlan === undefined ? undefined : plans.find((p) => p.id === base.defaultPlan!.id);
  return PlanCatalog.of([...plans, ...copies], def);
}
