import type { Meter } from '../../meters/meter.ts';
import { evaluateMeter, isMeterProblem } from '../../meters/evaluate.ts';
import { SCALE } from '../../shared/decimal.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import { scanEffective } from '../corrections/effective-events.ts';

/** Exact totals of additive meters per tenant: meter slug → tenant → {count, sum (scaled)}. */
export type RawTotals = Map<string, Map<string, { count: bigint; sum: bigint }>>;

/** Whether corrections and the rollups keep a meter exactly additive (COUNT, SUM, AVG). */
export function isAdditive(m: Meter): boolean {
  return m.def.aggregation === 'COUNT' || m.def.aggregation === 'SUM' || m.def.aggregation === 'AVG';
}

/**
 * Recomputes the count and sum of `meters` per tenant over [from, to) from the raw events
 * (without voided ones), reading each event type once: the batch layer's reference.
 */
export async function rawTotals(store: UsageStore, meters: readonly Meter[], from: EpochMicros, to: EpochMicros): Promise<{ totals: RawTotals; events: number }> {
  const totals: RawTotals = new Map(meters.map((m) => [m.slug, new Map()]));
  let events = 0;
  for (const type of new Set(meters.map((m) => m.def.eventType))) {
    const ofType = meters.filter((m) => m.def.eventType === type);
    for await (const page of scanEffective(store, type, from, to)) {
      events += page.length;
      for (const e of page) {
        for (const m of ofType) {
          const r = evaluateMeter(m, e);
          if (r === null || isMeterProblem(r)) continue;
          const byTenant = totals.get(m.slug)!;
          const t = byTenant.get(e.tenant) ?? { count: 0n, sum: 0n };
          t.count += 1n;
          t.sum += r.quantity ?? 0n;
          byTenant.set(e.tenant, t);
        }
      }
    }
  }
  return { totals, events };
}

/** A meter's value from count and sum as the rollups compare it: count for COUNT, else the sum (scaled). */
export function additiveValue(m: Meter, c: { count: bigint; sum: bigint }): bigint {
  return m.def.aggregation === 'COUNT' ? c.count * SCALE : c.sum;
}
