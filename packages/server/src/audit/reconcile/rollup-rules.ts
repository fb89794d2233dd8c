import type { MeterRegistry } from '../../meters/registry.ts';
import { formatScaled } from '../../shared/decimal.ts';
import type { UsageStore } from '../../store/port.ts';
import type { Resolution } from '../../usage/resolution.ts';
import { additiveValue, isAdditive, rawTotals } from './raw-totals.ts';
import { compare, type ReconcileRule, type ReconcileScope, type RuleResult } from './rule.ts';

/**
 * `rollups.<res>-vs-raw`: for every COUNT, SUM and AVG meter and every tenant, the day's total
 * read from the rollups at one resolution equals the day recomputed from the raw events (minus
 * voided ones). One rule per resolution, so an altered hour row shows as an hour discrepancy
 * while minute and day stay ok; a raw event deleted behind Tally's back shows in all three.
 * AVG is checked through its count and sum.
 */
export function rollupRules(store: UsageStore, meters: MeterRegistry): ReconcileRule[] {
  // One raw recomputation per run, shared by the three rules (they get the same scope object).
  const cache = new WeakMap<ReconcileScope, ReturnType<typeof rawTotals>>();
  const rawOf = (s: ReconcileScope) => {
    let p = cache.get(s);
    if (!p) cache.set(s, (p = rawTotals(store, meters.all().filter(isAdditive), s.from, s.to)));
    return p;
  };
  return (['minute', 'hour', 'day'] as Resolution[]).map((res) => ({
    name: ruleName(res),
    description: `per meter (COUNT, SUM, AVG), tenant and UTC day: the ${res} rollups' total equals the raw events' recomputation`,
    async check(s) {
      const { totals } = await rawOf(s);
      const results: RuleResult[] = [];
      for (const m of meters.all().filter(isAdditive)) {
        const rows = await store.aggregate({ meter: m.series, from: s.from, to: s.to, windows: { kind: 'uniform', origin: s.from, width: s.to - s.from, count: 1 }, groupByTenant: true, groupDims: [], filters: [], aggregation: m.def.aggregation }, res);
        const rolled = new Map(rows.map((r) => [r.tenant!, { count: r.components.count, sum: r.components.sum ?? 0n }]));
        const raw = totals.get(m.slug)!;
        const unit = m.def.aggregation === 'COUNT' ? 'events' : `${m.def.valueProperty} (sum)`;
        for (const tenant of [...new Set([...raw.keys(), ...rolled.keys()])].sort()) {
          const a = raw.get(tenant) ?? { count: 0n, sum: 0n };
          const b = rolled.get(tenant) ?? { count: 0n, sum: 0n };
          const scope = { meter: m.slug, tenant, day: s.day, resolution: res };
          results.push(compare(ruleName(res), scope, additiveValue(m, a), additiveValue(m, b), unit, formatScaled));
          // AVG (and a SUM's average) also needs the count right.
          if (m.def.aggregation === 'AVG') results.push(compare(ruleName(res), { ...scope, component: 'count' }, a.count, b.count, 'events'));
        }
      }
      return results;
    },
  }));
}

const ruleName = (res: Resolution) => `rollups.${res}-vs-raw`;
