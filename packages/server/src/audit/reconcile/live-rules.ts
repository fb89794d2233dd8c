import type { MeterRegistry } from '../../meters/registry.ts';
import type { LiveCounters } from '../../pipeline/live-counters.ts';
import type { QuotaService } from '../../quota/quota-service.ts';
import { formatScaled, parseQuantity } from '../../shared/decimal.ts';
import type { UsageStore } from '../../store/port.ts';
import type { QueryService } from '../../usage/query-service.ts';
import { isAdditive } from './raw-totals.ts';
import { compare, type ReconcileRule, type RuleResult } from './rule.ts';

const NAME = 'live-counters.vs-rollups';

/**
 * `live-counters.vs-rollups`, distributed profile: the Redis day counters (speed layer) of every
 * additive rollup series and tenant equal the ClickHouse day rollups (batch layer): count and sum.
 */
export function redisLiveRule(counters: LiveCounters, store: UsageStore, meters: MeterRegistry): ReconcileRule {
  return {
    name: NAME,
    description: 'per rollup series, tenant and UTC day: the Redis live counters (count, sum) equal the day rollups',
    async check(s) {
      const results: RuleResult[] = [];
      const seen = new Set<string>();
      for (const m of meters.all().filter(isAdditive)) {
        if (seen.has(m.series)) continue;
        seen.add(m.series);
        const rows = await store.aggregate({ meter: m.series, from: s.from, to: s.to, windows: { kind: 'uniform', origin: s.from, width: s.to - s.from, count: 1 }, groupByTenant: true, groupDims: [], filters: [], aggregation: m.def.aggregation }, 'day');
        for (const r of rows.sort((a, b) => (a.tenant! < b.tenant! ? -1 : 1))) {
          const live = await counters.read(r.tenant!, m.series, `d:${s.day}`);
          const scope = { series: m.series, meter: m.slug, tenant: r.tenant!, day: s.day };
          results.push(compare(NAME, { ...scope, component: 'count' }, r.components.count, live.count, 'events'));
          if (m.def.aggregation !== 'COUNT') results.push(compare(NAME, { ...scope, component: 'sum' }, r.components.sum ?? 0n, live.sum, `${m.def.valueProperty} (sum)`, formatScaled));
        }
      }
      return results;
    },
  };
}

/**
 * `live-counters.vs-rollups`, embedded profile: the in-process quota counters of every tenant with
 * entitlements (listed, overridden or on the default plan) equal the rollups' answer for each
 * entitlement's current period.
 */
export function quotaLiveRule(quotas: QuotaService, queries: QueryService): ReconcileRule {
  return {
    name: NAME,
    description: "per tenant with a plan and entitlement: the live quota counter of the current period equals the rollups' answer",
    async check() {
      const results: RuleResult[] = [];
      // Listed tenants, run-time overrides and the default plan's tenants alike.
      for (const tenant of quotas.tenantsWithPlans()) {
        for (const snap of (await quotas.list(tenant)).data) {
          const ent = snap.entitlement;
          // An entitlement with dimension filters counts only the usage they select.
          const filterGroupBy = Object.fromEntries(ent.filter.map((f) => [f.name, [...f.values]]));
          const r = await queries.query({ meter: ent.meter, from: snap.period.start, to: snap.period.end, tenants: [tenant], ...(ent.filter.length ? { filterGroupBy } : {}) });
          const rolled = parseQuantity(r.data[0]?.value ?? '0') as bigint;
          // Scoped by entitlement: two entitlements on one meter (a day and a month limit, or two filters) are two results.
          results.push(compare(NAME, { entitlement: ent.id, meter: ent.meter, tenant, period: new Date(snap.period.start / 1000).toISOString() }, rolled, snap.usage, ent.meter, formatScaled));
        }
      }
      return results;
    },
  };
}
