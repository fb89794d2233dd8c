import { DateTime } from 'luxon';
import type { AdoptionQuery, FunnelQuery, FunnelStep, RetentionQuery } from './model.ts';

/**
 * Plain TypeScript recomputations of the analytics answers straight from a list of events,
 * written independently of the SQL and of period.ts (luxon calendar arithmetic), for the
 * contract's property tests. Not used by the service.
 */
export interface RefEvent {
  tenant: string;
  id: string;
  type: string;
  time: number;
  actor: string | null;
  data: Record<string, unknown>;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const matches = (e: RefEvent, s: FunnelStep): boolean => e.type === s.eventType && Object.entries(s.filter ?? {}).every(([k, vs]) => str(e.data[k]) !== null && vs.includes(e.data[k] as string));

function bySubject(events: readonly RefEvent[], by: 'actor' | 'tenant', from: number, to: number, tenants?: string[]): Map<string, RefEvent[]> {
  const out = new Map<string, RefEvent[]>();
  for (const e of events) {
    if (e.time < from || e.time >= to) continue;
    if (tenants && !tenants.includes(e.tenant)) continue;
    if (by === 'actor' && e.actor === null) continue;
    const key = by === 'actor' ? JSON.stringify([e.tenant, e.actor]) : e.tenant;
    const list = out.get(key) ?? [];
    list.push(e);
    out.set(key, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

const lowerMedian = (xs: number[]): number | null => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1]!);

/** Reference funnel: per breakdown value (null when none asked), per step, count and median µs from the previous step. */
export function refFunnel(events: readonly RefEvent[], q: FunnelQuery): Map<string | null, { count: number; median: number | null }[]> {
  const acc = new Map<string | null, { count: number; gaps: number[] }[]>();
  for (const list of bySubject(events, q.by, q.from, q.to, q.tenants).values()) {
    // Walk the subject's events in time order: the first step-1 event anchors the path, then
    // each later step takes the first matching event strictly after the previous step's.
    const anchor = list.find((e) => matches(e, q.steps[0]!));
    if (!anchor) continue;
    const group = q.breakdown ? str(anchor.data[q.breakdown]) : null;
    const times = [anchor.time];
    for (let k = 1; k < q.steps.length; k++) {
      const next = list.find((e) => e.time > times[k - 1]! && e.time - anchor.time <= q.windowMicros && matches(e, q.steps[k]!));
      if (!next) break;
      times.push(next.time);
    }
    const row = acc.get(group) ?? q.steps.map(() => ({ count: 0, gaps: [] as number[] }));
    acc.set(group, row);
    times.forEach((t, k) => {
      row[k]!.count++;
      if (k > 0) row[k]!.gaps.push(t - times[k - 1]!);
    });
  }
  return new Map([...acc].map(([g, steps]) => [g, steps.map((s, k) => ({ count: s.count, median: k === 0 ? null : lowerMedian(s.gaps) }))]));
}

const UNIT = { DAY: 'day', WEEK: 'week', MONTH: 'month' } as const;
const local = (t: number, zone: string) => DateTime.fromMillis(Math.floor(t / 1000), { zone });

/** Calendar periods between the period starts of `a` and `b` (luxon's calendar diff, DST-proof). */
function periodsBetween(a: number, b: number, q: { period: RetentionQuery['period']; timeZone: string }): number {
  const unit = UNIT[q.period];
  const sa = local(a, q.timeZone).startOf(unit);
  const sb = local(b, q.timeZone).startOf(unit);
  const plural = `${unit}s` as 'days' | 'weeks' | 'months';
  return Math.round(sb.diff(sa, plural).as(plural));
}

/** Reference retention: cohort label → size and returning counts per offset 0…periods. */
export function refRetention(events: readonly RefEvent[], q: RetentionQuery): Map<string, { size: number; returning: number[] }> {
  const out = new Map<string, { size: number; returning: number[] }>();
  for (const list of bySubject(events, q.by, q.from, q.to, q.tenants).values()) {
    const first = list.find((e) => matches(e, q.startEvent));
    if (!first) continue;
    const label = local(first.time, q.timeZone).startOf(UNIT[q.period]).toISODate()!;
    const row = out.get(label) ?? { size: 0, returning: new Array<number>(q.periods + 1).fill(0) };
    out.set(label, row);
    row.size++;
    const seen = new Set<number>();
    for (const e of list) {
      if (e.time < first.time || !matches(e, q.returnEvent)) continue;
      const off = periodsBetween(first.time, e.time, q);
      if (off <= q.periods) seen.add(off);
    }
    for (const off of seen) row.returning[off]!++;
  }
  return out;
}

/** Reference adoption: per period label the active tenants/users; per feature its totals, first use and per-period usage. */
export function refAdoption(events: readonly RefEvent[], q: AdoptionQuery) {
  const inRange = events.filter((e) => e.time >= q.from && e.time < q.to && (!q.tenants || q.tenants.includes(e.tenant)));
  const label = (t: number) => local(t, q.timeZone).startOf(UNIT[q.period]).toISODate()!;
  const user = (e: RefEvent) => (e.actor === null ? null : JSON.stringify([e.tenant, e.actor]));
  const count = (es: RefEvent[]) => ({ tenants: new Set(es.map((e) => e.tenant)).size, users: new Set(es.map(user).filter((u) => u !== null)).size });
  const group = <K>(es: RefEvent[], key: (e: RefEvent) => K) => {
    const m = new Map<K, RefEvent[]>();
    for (const e of es) m.set(key(e), [...(m.get(key(e)) ?? []), e]);
    return m;
  };
  const periods = [...group(inRange, (e) => label(e.time))].sort(([a], [b]) => (a < b ? -1 : 1)).map(([period, es]) => ({ period, ...count(es) }));
  const used = inRange.filter((e) => e.type === q.eventType && str(e.data[q.dimension]) !== null);
  const features = [...group(used, (e) => e.data[q.dimension] as string)].map(([feature, es]) => {
    const byPeriod = group(es, (e) => label(e.time));
    const firstByTenant = [...group(es, (e) => e.tenant).values()].map((ts) => Math.min(...ts.map((e) => e.time)));
    return {
      feature,
      ...count(es),
      firstUse: Math.min(...es.map((e) => e.time)),
      series: periods.map((p) => ({ period: p.period, ...(byPeriod.has(p.period) ? count(byPeriod.get(p.period)!) : { tenants: 0, users: 0 }), cumulativeTenants: firstByTenant.filter((t) => label(t) <= p.period).length })),
    };
  });
  return { ...count(inRange), periods, features: features.sort((a, b) => (a.feature < b.feature ? -1 : 1)) };
}
