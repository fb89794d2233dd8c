import { scanEffective } from '../audit/corrections/effective-events.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { SCALE } from '../shared/decimal.ts';
import type { EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import { timeWeighted } from '../usage/time-weighted-query.ts';

/** What a usage price bills: a meter, optionally only some dimension values. */
export interface UsageSelector {
  meter: string;
  filter: Record<string, string[]> | null;
}

/** A filter as configured (a value or a list) as lists. */
export function normaliseFilter(f: Record<string, string | string[]> | undefined): Record<string, string[]> | null {
  return f === undefined ? null : Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}

/**
 * Recomputes usage from the raw events (the batch layer never bills from the rollups it is
 * checking), without the events a correction voided: each selector's exact total per tenant over [from, to), reading each event type
 * once for all the tenants asked about. Quantities ×10^12; a tenant without events gets zeros.
 */
export async function rawUsageByTenant(store: UsageStore, meters: MeterRegistry, tenants: readonly string[], from: EpochMicros, to: EpochMicros, selectors: readonly UsageSelector[]): Promise<Map<string, bigint[]>> {
  const totals = new Map(tenants.map((t) => [t, selectors.map(() => 0n)]));
  const compiled = selectors.map((s) => {
    const meter = meters.get(s.meter);
    if (!meter) throw new Error(`unknown meter "${s.meter}"`);
    const filter = Object.entries(s.filter ?? {}).map(([dim, values]) => ({ at: meter.dimensions.indexOf(dim), values: new Set(values) }));
    return { meter, filter };
  });
  if (tenants.length === 0) return totals;
  // A time-weighted meter integrates its samples (with the value held into the period): the
  // period is billed whole, as it is closed when an invoice is issued.
  for (const [i, c] of compiled.entries()) {
    if (c.meter.def.aggregation !== 'TIME_WEIGHTED_SUM') continue;
    const filters = c.filter.map((f) => ({ dim: f.at, values: [...f.values] }));
    const rows = await timeWeighted(store, c.meter, { meter: c.meter.series, from, to, windows: { kind: 'explicit', boundaries: [from, to] }, tenants: [...tenants], groupByTenant: true, groupDims: [], filters }, [from, to], to);
    for (const r of rows) totals.get(r.tenant!)![i] = r.scaled;
  }
  for (const type of new Set(compiled.filter((c) => c.meter.def.aggregation !== 'TIME_WEIGHTED_SUM').map((c) => c.meter.def.eventType))) {
    const ofType = compiled.map((c, i) => ({ ...c, i })).filter((c) => c.meter.def.eventType === type && c.meter.def.aggregation !== 'TIME_WEIGHTED_SUM');
    for await (const page of scanEffective(store, type, from, to, [...tenants])) {
      for (const e of page) {
        const sums = totals.get(e.tenant);
        if (!sums) continue;
        for (const c of ofType) {
          const r = evaluateMeter(c.meter, e);
          if (r === null || isMeterProblem(r)) continue;
          if (!c.filter.every((f) => f.values.has(r.dims[f.at] ?? ''))) continue;
          sums[c.i]! += c.meter.def.aggregation === 'COUNT' ? SCALE : r.quantity!;
        }
      }
    }
  }
  return totals;
}

/** {@link rawUsageByTenant} for one tenant. */
export async function rawUsage(store: UsageStore, meters: MeterRegistry, tenant: string, from: EpochMicros, to: EpochMicros, selectors: readonly UsageSelector[]): Promise<bigint[]> {
  return (await rawUsageByTenant(store, meters, [tenant], from, to, selectors)).get(tenant)!;
}
