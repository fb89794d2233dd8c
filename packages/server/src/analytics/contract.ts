import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../events/event.ts';
import type { MeterDefinition } from '../meters/meter.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { formatScaled, SCALE } from '../shared/decimal.ts';
import { formatMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import { QueryService } from '../usage/query-service.ts';
import { adoption } from './adoption.ts';
import { funnel, type FunnelStepAnswer } from './funnel.ts';
import type { AdoptionQuery, FunnelQuery, FunnelStep, Period, RetentionQuery } from './model.ts';
import type { AnalyticsStore } from './port.ts';
import { refAdoption, refFunnel, refRetention, type RefEvent } from './reference.ts';
import { retention } from './retention.ts';
import { compareKeys, ratio, topN } from './top.ts';

/** Opens an empty usage store (rollups derived with `registry`) and the analytics adapter reading it. */
export type AnalyticsFactory = (registry: MeterRegistry) => Promise<{ store: UsageStore; analytics: AnalyticsStore }>;

/** The contract's meters: an additive COUNT and SUM over `api.request` for top-N. */
export const CONTRACT_METERS: MeterDefinition[] = [
  { slug: 'requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: { route: '$.route' } },
];

const DAY = 86_400_000_000;
/** Generous: every run appends to a real store and asks it; the 2-core CI machine is shared. */
const TIMEOUT = 300_000;
const TYPES = ['signup', 'project.created', 'member.invited', 'plan.upgraded', 'feature.used', 'api.request'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Pacific/Auckland'];
const PERIODS: Period[] = ['DAY', 'WEEK', 'MONTH'];

interface GenEvent {
  tenant: string;
  actor: string | null;
  type: string;
  /** Microseconds after the slab's start: days, a few seconds (ties happen), a few micros. */
  offset: number;
  plan: unknown;
  feature: unknown;
  route: string;
  bytes: number;
}

const eventArb: fc.Arbitrary<GenEvent> = fc.record({
  tenant: fc.constantFrom('t1', 't2', 't3', 't4'),
  actor: fc.option(fc.constantFrom('u1', 'u2'), { nil: null, freq: 6 }),
  type: fc.oneof(fc.constantFrom(...TYPES.slice(0, 3)), fc.constantFrom(...TYPES)),
  // Days skewed to the first few (subjects get several events near each other), seconds and
  // microseconds from small sets so equal times and gaps of exactly a window happen often.
  offset: fc
    .tuple(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 70 })), fc.constantFrom(0, 1, 60, 3_600, 43_200), fc.constantFrom(0, 0, 0, 1))
    .map(([d, s, us]) => d * DAY + s * 1_000_000 + us),
  plan: fc.constantFrom('free', 'pro', '', 7, undefined),
  feature: fc.constantFrom('search', 'export', 'alerts', 'sso', '', 3, undefined),
  route: fc.constantFrom('/a', '/b', '/c', '/d', '/e'),
  bytes: fc.integer({ min: 0, max: 5000 }),
});

const stepArb: fc.Arbitrary<FunnelStep> = fc.record({ eventType: fc.oneof(fc.constantFrom(...TYPES.slice(0, 3)), fc.constantFrom(...TYPES.slice(0, 5))), filter: fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fc.constant<FunnelStep['filter']>({ plan: ['pro'] }), weight: 1 }) });
const rangeArb = fc.tuple(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 48 }), fc.integer({ min: 0, max: 20 * 24 })), fc.integer({ min: 1, max: 75 * 24 })).map(([h, len]) => ({ from: h * (DAY / 24), to: (h + len) * (DAY / 24) }));

function record(base: number, slab: number, i: number, e: GenEvent): EventRecord {
  const data: Record<string, unknown> = { route: e.route, bytes: e.bytes };
  if (e.plan !== undefined) data.plan = e.plan;
  if (e.feature !== undefined) data.feature = e.feature;
  const dataJson = JSON.stringify(data);
  const actor = e.actor === null ? null : createHash('sha256').update(`${e.tenant}:${e.actor}`).digest('hex');
  return { tenant: `r${slab}${e.tenant}`, id: `e${i}`, type: e.type, source: 'contract', time: base + e.offset, actor, data, dataJson, contentHash: createHash('sha256').update(`${slab}:${i}`).digest('base64url') };
}

function expectedSteps(q: FunnelQuery, rows: { count: number; median: number | null }[] | undefined): FunnelStepAnswer[] {
  const c = q.steps.map((_, i) => rows?.[i]?.count ?? 0);
  return q.steps.map((s, i) => ({
    eventType: s.eventType,
    count: c[i]!,
    conversion: c[0] === 0 ? 0 : c[i]! / c[0]!,
    conversionFromPrevious: i === 0 ? 1 : c[i - 1] === 0 ? 0 : c[i]! / c[i - 1]!,
    medianSecondsFromPrevious: i === 0 || rows?.[i]?.median === null || rows?.[i]?.median === undefined ? null : rows[i]!.median! / 1_000_000,
  }));
}

/**
 * The analytics section of the store contract: random event streams (ties, missing actors,
 * non-string and empty properties, re-sent duplicates, events outside the range, random time
 * zones) give funnel, retention, adoption and top-N answers equal to the plain TypeScript
 * recomputation of reference.ts, on every adapter. Each run writes its own tenants (r<run>t1…)
 * into one store and asks about them only (all four, or a random subset), so runs never see
 * each other's events; time slabs of 120 days rotate so clocks stay in every engine's range.
 */
export function runAnalyticsContract(name: string, factory: AnalyticsFactory, runs: number): void {
  describe(`analytics contract: ${name}`, () => {
    const registry = new MeterRegistry(CONTRACT_METERS);
    let store: UsageStore;
    let analytics: AnalyticsStore;
    let slab = 0;
    beforeAll(async () => {
      ({ store, analytics } = await factory(registry));
    }, 60_000);
    afterAll(async () => {
      await analytics?.close();
      await store?.close();
    });

    /** Stores the events in a fresh slab (the first half twice: duplicates) and returns them as the reference sees them. */
    async function load(events: GenEvent[], tenants: string[] | undefined): Promise<{ base: number; refs: RefEvent[]; tenants: string[] }> {
      const n = slab++;
      const base = Date.UTC(2031, 0, 1) * 1000 + (n % 40) * 120 * DAY;
      const records = events.map((e, i) => record(base, n, i, e));
      await store.append(records.slice(0, Math.ceil(records.length / 2)));
      await store.append(records);
      return { base, tenants: (tenants ?? ['t1', 't2', 't3', 't4']).map((t) => `r${n}${t}`), refs: records.map((r) => ({ tenant: r.tenant, id: r.id, type: r.type, time: r.time, actor: r.actor, data: r.data })) };
    }
    const tenantsArb = fc.option(fc.subarray(['t1', 't2', 't3', 't4'], { minLength: 1 }), { nil: undefined, freq: 3 });

    it('funnels equal the earliest-complete-path recomputation', async () => {
      const arb = fc.record({
        events: fc.array(eventArb, { minLength: 5, maxLength: 120, size: 'max' }),
        steps: fc.array(stepArb, { minLength: 1, maxLength: 4 }),
        window: fc.constantFrom(60, 3_600, 43_200, 86_400, 7 * 86_400, 40 * 86_400),
        range: rangeArb,
        by: fc.constantFrom<'actor' | 'tenant'>('actor', 'tenant'),
        breakdown: fc.option(fc.constant('plan'), { nil: undefined }),
        tenants: tenantsArb,
      });
      await fc.assert(
        fc.asyncProperty(arb, async (a) => {
          const { base, refs, tenants } = await load(a.events, a.tenants);
          const q: FunnelQuery = { steps: a.steps, windowMicros: a.window * 1_000_000, from: base + a.range.from, to: base + a.range.to, by: a.by, tenants, breakdown: a.breakdown };
          const got = await funnel(analytics, q);
          const ref = refFunnel(refs, q);
          const whole = refFunnel(refs, { ...q, breakdown: undefined });
          expect(got.steps).toEqual(expectedSteps(q, whole.get(null)));
          if (a.breakdown) {
            const groups = [...ref.keys()].sort(compareKeys);
            expect(got.breakdown).toEqual(groups.map((g) => ({ value: g, steps: expectedSteps(q, ref.get(g)) })));
          }
        }),
        { numRuns: runs },
      );
    }, TIMEOUT);

    it('funnels keep the stated semantics at their edges (window bound inclusive, steps strictly after, anchored on the first step 1 in range)', async () => {
      const n = slab++;
      const base = Date.UTC(2031, 0, 1) * 1000 + (n % 40) * 120 * DAY + DAY;
      const S = 1_000_000;
      const script: [string, string, number][] = [
        ['A', 'signup', 0], ['A', 'project.created', 60 * S], // exactly at the window: counts
        ['B', 'signup', 0], ['B', 'project.created', 60 * S + 1], // one microsecond late
        ['C', 'signup', 0], ['C', 'project.created', 0], // same instant: not after step 1
        ['D', 'signup', 0], ['D', 'signup', 100 * S], ['D', 'project.created', 130 * S], // no re-anchoring on a later step 1
        ['E', 'project.created', 0], ['E', 'signup', 10 * S], // wrong order: starts, never reaches step 2
        ['F', 'signup', -1], ['F', 'signup', 10 * S], ['F', 'project.created', 20 * S], // the step 1 before `from` is outside
        ['G', 'signup', 0], ['G', 'project.created', 5 * S], ['G', 'project.created', 20 * S], ['G', 'member.invited', 30 * S],
      ];
      const records = script.map(([t, type, at], i) => ({ tenant: `r${n}${t}`, id: `x${i}`, type, source: 'contract', time: base + at, actor: null, data: {}, dataJson: '{}', contentHash: `h${i}` }));
      await store.append(records);
      const tenants = [...new Set(records.map((r) => r.tenant))];
      const q: FunnelQuery = { steps: [{ eventType: 'signup' }, { eventType: 'project.created' }, { eventType: 'member.invited' }], windowMicros: 60 * S, from: base, to: base + DAY, by: 'tenant', tenants };
      const got = await funnel(analytics, q);
      expect(got.steps.map((x) => [x.count, x.medianSecondsFromPrevious])).toEqual([[7, null], [3, 10], [1, 25]]);
      expect(got.steps).toEqual(expectedSteps(q, refFunnel(records, q).get(null)));
    }, TIMEOUT);

    it('retention cohorts equal the calendar recomputation in the time zone', async () => {
      const arb = fc.record({
        events: fc.array(eventArb, { minLength: 5, maxLength: 120, size: 'max' }),
        start: stepArb,
        ret: stepArb,
        period: fc.constantFrom(...PERIODS),
        periods: fc.integer({ min: 0, max: 12 }),
        range: rangeArb,
        by: fc.constantFrom<'actor' | 'tenant'>('actor', 'tenant'),
        zone: fc.constantFrom(...ZONES),
        tenants: tenantsArb,
      });
      await fc.assert(
        fc.asyncProperty(arb, async (a) => {
          const { base, refs, tenants } = await load(a.events, a.tenants);
          const q: RetentionQuery = { startEvent: a.start, returnEvent: a.ret, period: a.period, periods: a.periods, from: base + a.range.from, to: base + a.range.to, by: a.by, timeZone: a.zone, tenants };
          const got = await retention(analytics, q);
          const ref = refRetention(refs, q);
          const unit = ({ DAY: 'days', WEEK: 'weeks', MONTH: 'months' } as const)[a.period];
          const expected = [...ref.entries()]
            .sort(([x], [y]) => (x < y ? -1 : 1))
            .map(([cohort, r]) => {
              const start = DateTime.fromISO(cohort, { zone: a.zone });
              let observed = 0;
              while (observed <= a.periods && start.plus({ [unit]: observed }).toMillis() * 1000 < q.to) observed++;
              return { cohort, size: r.size, returning: r.returning, observed };
            });
          expect(got.cohorts).toEqual(expected);
        }),
        { numRuns: runs },
      );
    }, TIMEOUT);

    it('feature adoption equals the recomputation per period, feature and share', async () => {
      const arb = fc.record({ events: fc.array(eventArb, { minLength: 5, maxLength: 120, size: 'max' }), period: fc.constantFrom(...PERIODS), range: rangeArb, zone: fc.constantFrom(...ZONES), tenants: tenantsArb });
      await fc.assert(
        fc.asyncProperty(arb, async (a) => {
          const { base, refs, tenants } = await load(a.events, a.tenants);
          const q: AdoptionQuery = { eventType: 'feature.used', dimension: 'feature', period: a.period, timeZone: a.zone, from: base + a.range.from, to: base + a.range.to, tenants };
          const got = await adoption(analytics, q);
          const ref = refAdoption(refs, q);
          const share = (n: number, of: number) => (of === 0 ? 0 : n / of);
          expect(got.activeTenants).toBe(ref.tenants);
          expect(got.activeUsers).toBe(ref.users);
          expect(got.periods).toEqual(ref.periods.map((p) => ({ period: p.period, activeTenants: p.tenants, activeUsers: p.users })));
          expect(got.features).toEqual(
            ref.features.map((f) => ({
              feature: f.feature,
              tenants: f.tenants,
              users: f.users,
              tenantShare: share(f.tenants, ref.tenants),
              userShare: share(f.users, ref.users),
              firstUse: formatMicros(f.firstUse),
              bucket: f.tenants >= 0.8 * ref.tenants ? 'broad' : f.tenants <= 0.05 * ref.tenants ? 'niche' : null,
              series: f.series.map((s, i) => ({ period: s.period, tenants: s.tenants, users: s.users, tenantShare: share(s.tenants, ref.periods[i]!.tenants), userShare: share(s.users, ref.periods[i]!.users), cumulativeTenants: s.cumulativeTenants })),
            })),
          );
        }),
        { numRuns: runs },
      );
    }, TIMEOUT);

    it('top-N from the rollups equals the raw recomputation, with shares and cumulative shares', async () => {
      const arb = fc.record({ events: fc.array(eventArb, { minLength: 5, maxLength: 150, size: 'max' }), meter: fc.constantFrom('requests', 'bytes'), by: fc.constantFrom('tenant', 'route'), limit: fc.integer({ min: 1, max: 6 }), range: rangeArb, tenants: tenantsArb });
      await fc.assert(
        fc.asyncProperty(arb, async (a) => {
          const { base, refs, tenants } = await load(a.events, a.tenants);
          // Minute-aligned ranges: the rollups serve them (other ranges go to raw events, tested by the query contract).
          const from = base + a.range.from;
          const to = base + a.range.to;
          const got = await topN(new QueryService(store, registry, { nowMicros: () => to }), registry, { meter: a.meter, by: a.by, limit: a.limit, from, to, tenants });
          const sums = new Map<string, bigint>();
          for (const e of refs) {
            if (e.type !== 'api.request' || e.time < from || e.time >= to || !tenants.includes(e.tenant)) continue;
            const key = a.by === 'tenant' ? e.tenant : (e.data.route as string);
            sums.set(key, (sums.get(key) ?? 0n) + (a.meter === 'requests' ? SCALE : BigInt(e.data.bytes as number) * SCALE));
          }
          const ranked = [...sums].sort(([ka, va], [kb, vb]) => (va > vb ? -1 : va < vb ? 1 : compareKeys(ka, kb)));
          const total = ranked.reduce((s, [, v]) => s + v, 0n);
          let run = 0n;
          expect(got.total).toBe(formatScaled(total));
          expect(got.groups).toBe(ranked.length);
          expect(got.items).toEqual(
            ranked.slice(0, a.limit).map(([key, v], i) => {
              run += v;
              return { rank: i + 1, key, value: formatScaled(v), share: ratio(v, total), cumulativeShare: ratio(run, total) };
            }),
          );
          expect(got.rest).toBe(formatScaled(total - run));
        }),
        { numRuns: runs },
      );
    }, TIMEOUT);
  });
}
