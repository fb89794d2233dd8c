import { scanEffective } from './corrections/effective-events.ts';
import { DateTime } from 'luxon';
import type { JobDefinition } from '../jobs/job.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { SCALE, formatScaled, parseQuantity } from '../shared/decimal.ts';
import { MICROS_PER_DAY, MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';

/** One tenant whose rollup total differs from the raw events. */
export interface Discrepancy {
  meter: string;
  tenant: string;
  raw: string;
  rollups: string;
}

/** The UTC day before `now`, as `YYYY-MM-DD`. */
export function previousUtcDay(now: EpochMicros): string {
  return DateTime.fromMillis(Math.floor(now / MICROS_PER_MS) - 86_400_000, { zone: 'utc' }).toISODate()!;
}

/**
 * `reconcile-rollups:<YYYY-MM-DD>`: recomputes one UTC day of every COUNT and SUM meter per
 * tenant from the raw events (the batch layer reads raw, never only the rollups it checks) and
 * compares it with what the rollups answer. Runs daily at 00:30 UTC for the day before, or on
 * demand for any day; the output lists every discrepancy (a correct store has none).
 */
export function reconcileRollupsJob(store: UsageStore, meters: MeterRegistry, queries: QueryService): JobDefinition {
  return {
    name: 'reconcile-rollups',
    description: 'one UTC day of every COUNT and SUM meter per tenant: raw events vs rollups',
    schedule: '30 0 * * *',
    rangeAt: previousUtcDay,
    async run(ctx) {
      const day = DateTime.fromISO(ctx.range, { zone: 'utc' });
      if (!/^\d{4}-\d{2}-\d{2}$/.test(ctx.range) || !day.isValid) throw new Error(`range "${ctx.range}" is not a UTC day (YYYY-MM-DD)`);
      const from = day.toMillis() * MICROS_PER_MS;
      const to = from + MICROS_PER_DAY;
      const additive = meters.all().filter((m) => m.def.aggregation === 'COUNT' || m.def.aggregation === 'SUM');
      const raw = new Map<string, Map<string, bigint>>(additive.map((m) => [m.slug, new Map()]));
      let events = 0;
      for (const type of new Set(additive.map((m) => m.def.eventType))) {
        const ofType = additive.filter((m) => m.def.eventType === type);
        for await (const page of scanEffective(store, type, from, to)) {
          events += page.length;
          for (const e of page) {
            for (const m of ofType) {
              const r = evaluateMeter(m, e);
              if (r === null || isMeterProblem(r)) continue;
              const totals = raw.get(m.slug)!;
              totals.set(e.tenant, (totals.get(e.tenant) ?? 0n) + (m.def.aggregation === 'COUNT' ? SCALE : r.quantity!));
            }
          }
        }
      }
      const discrepancies: Discrepancy[] = [];
      for (const m of additive) {
        const answer = await queries.query({ meter: m.slug, from, to, groupBy: ['tenant'], includeHidden: true });
        const rolled = new Map(answer.data.map((r) => [r.tenant!, r.value === null ? 0n : (parseQuantity(r.value) as bigint)]));
        const totals = raw.get(m.slug)!;
        for (const tenant of new Set([...totals.keys(), ...rolled.keys()])) {
          const a = totals.get(tenant) ?? 0n;
          const b = rolled.get(tenant) ?? 0n;
          if (a !== b) discrepancies.push({ meter: m.slug, tenant, raw: formatScaled(a), rollups: formatScaled(b) });
        }
      }
      return { day: ctx.range, meters: additive.length, rawEvents: events, discrepancies: discrepancies.length, details: discrepancies.slice(0, 100) };
    },
  };
}
