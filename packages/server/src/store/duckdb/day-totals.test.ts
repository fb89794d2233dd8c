import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../events/event.ts';
import { compileMeter, type MeterDefinition } from '../../meters/meter.ts';
import { MeterRegistry } from '../../meters/registry.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR } from '../../shared/time.ts';
import { valueOf } from '../../usage/components.ts';
import { deriveRollups } from '../../usage/derive-rollups.ts';
import type { AggregateQuery, WindowLayout } from '../port.ts';
import type { DayTotalsOptions } from './day-totals.ts';
import { DuckDbStore } from './duckdb-store.ts';

const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { route: '$.r' } },
  { slug: 'bytes', eventType: 'call', aggregation: 'SUM', valueProperty: '$.b', groupBy: { route: '$.r' } },
  { slug: 'peak', eventType: 'call', aggregation: 'MAX', valueProperty: '$.b', groupBy: {} },
  { slug: 'avg', eventType: 'call', aggregation: 'AVG', valueProperty: '$.b', groupBy: {} },
  { slug: 'last', eventType: 'call', aggregation: 'LATEST', valueProperty: '$.b', groupBy: {} },
];
const DAY = MICROS_PER_DAY;
const TODAY = Date.UTC(2026, 5, 15) * 1000;

/** A store on its own file with a movable clock; `tier: false` answers everything with SQL. */
async function openStore(path: string, registry: MeterRegistry, clock: { now: number }, tier: DayTotalsOptions | false | undefined) {
  return DuckDbStore.open({ path, derive: (e) => deriveRollups(e, (t) => registry.forType(t), ['minute']), nowMicros: () => clock.now, dayTotals: tier });
}

/** The same data in two stores: one with the hot tier (default), one answering with SQL alone. */
function hotAndCold(label: string, defs: MeterDefinition[], clock: { now: number }, tier?: DayTotalsOptions) {
  const dir = mkdtempSync(join(tmpdir(), `tally-daytotals-${label}-`));
  const regHot = new MeterRegistry(defs);
  const regCold = new MeterRegistry(defs);
  const open = () => Promise.all([openStore(join(dir, 'hot.duckdb'), regHot, clock, tier), openStore(join(dir, 'cold.duckdb'), regCold, clock, false)]);
  return { regHot, regCold, open };
}

function events(from: number, count: number, prefix: string, start: number, step: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const k = from + i;
    const data = { r: `/r${k % 3}`, b: `${(k * 37) % 1000}.${String(k % 100).padStart(2, '0')}` };
    return { tenant: `t${(k * 7) % 5}`, id: `${prefix}${k}`, type: 'call', source: 's', time: start + i * step, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(k) };
  });
}

/** A query of `meter` in the shapes the tier serves (and some it does not). */
function shapes(meter: string, aggregation: MeterDefinition['aggregation']): [string, AggregateQuery][] {
  const from = TODAY - 10 * DAY;
  const to = TODAY + DAY;
  const daily: WindowLayout = { kind: 'uniform', origin: from, width: DAY, count: 11 };
  const uneven: WindowLayout = { kind: 'explicit', boundaries: [from, from + 2 * DAY, from + 3 * DAY, from + 9 * DAY, to] };
  const base = { meter, from, to, groupDims: [], filters: [], aggregation };
  return [
    ['daily per tenant', { ...base, windows: daily, groupByTenant: true }],
    ['daily, all tenants together', { ...base, windows: daily, groupByTenant: false }],
    ['one tenant (portal), twice named', { ...base, windows: daily, groupByTenant: true, tenants: ['t3', 't3'] }],
    ['two tenants and an unknown one', { ...base, windows: daily, groupByTenant: true, tenants: ['t1', 'nobody', 't4'] }],
    ['uneven windows (months)', { ...base, windows: uneven, groupByTenant: true }],
    ['one window over the range', { ...base, windows: { kind: 'explicit', boundaries: [from, to] }, groupByTenant: false }],
    ['two-day windows', { ...base, from: from + DAY, windows: { kind: 'uniform', origin: from + DAY, width: 2 * DAY, count: 5 }, groupByTenant: true }],
    ['before the days kept (SQL)', { ...base, from: TODAY - 200 * DAY, windows: { kind: 'explicit', boundaries: [TODAY - 200 * DAY, to] }, groupByTenant: true }],
  ];
}

/** Every shape of every meter, answered as comparable text (window, tenant, value). */
async function answers(store: DuckDbStore): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const m of METERS) {
    for (const [name, q] of shapes(compileMeter(m).series, m.aggregation)) {
      const rows = await store.aggregate(q, 'day');
      out[`${m.slug}: ${name}`] = rows.map((r) => `${r.window}|${r.tenant}|${valueOf(m.aggregation, r.components)}`).sort();
    }
  }
  return out;
}

describe('DuckDB day totals (the in-memory hot tier)', () => {
  it('answers exactly as SQL across flushes, compaction, late events, a meter backfill, a reopen and the days moving on', async () => {
    const clock = { now: TODAY + 12 * MICROS_PER_HOUR };
    const { regHot, regCold, open } = hotAndCold('main', METERS.slice(0, 4), clock);
    let [hot, cold] = await open();
    const both = async (batch: EventRecord[]) => {
      expect(await hot.append(batch)).toEqual(await cold.append(batch));
    };
    const same = async () => {
      const [a, b] = [await answers(hot), await answers(cold)];
      expect(Object.values(a).some((rows) => rows.length > 0)).toBe(true);
      expect(a).toEqual(b);
      return a;
    };
    // 1,200 events over the last 5 days, then duplicates of some of them.
    await both(events(0, 600, 'a', TODAY - 5 * DAY, 7 * 60_000_000));
    await both(events(600, 600, 'a', TODAY - 5 * DAY + 3_000_000, 11 * 60_000_000));
    await both(events(0, 50, 'a', TODAY - 5 * DAY, 7 * 60_000_000));
    const first = await same();
    expect(hot.dayTotalsCells).toBeGreaterThan(0);

    // An answer already given does not change when later events are folded in.
    const given = await hot.aggregate(shapes(compileMeter(METERS[0]!).series, 'COUNT')[0]![1], 'day');
    const before = given.map((r) => r.components.count);
    await hot.compactNow();
    await cold.compactNow();
    // Late events for days already compacted, and for a day in the future of the others.
    await both(events(2000, 300, 'late', TODAY - 9 * DAY, 41 * 60_000_000));
    const second = await same();
    expect(given.map((r) => r.components.count)).toEqual(before);
    expect(second).not.toEqual(first);

    // A new meter is backfilled from the stored events and served at once.
    const last = compileMeter(METERS[4]!);
    const backfill = (e: readonly EventRecord[]) => deriveRollups(e, (t) => (t === 'call' ? [last] : []));
    expect(await hot.createMeter(METERS[4]!, backfill, () => regHot.add(METERS[4]!))).toEqual(await cold.createMeter(METERS[4]!, backfill, () => regCold.add(METERS[4]!)));
    await both(events(3000, 100, 'new', TODAY - 2 * DAY, 13 * 60_000_000));
    const third = await same();
    expect(third['last: daily per tenant']!.length).toBeGreaterThan(0);

    // Reopen (loaded from compacted rows and pending deltas), then the days move on a week.
    await hot.close();
    await cold.close();
    [hot, cold] = await open();
    expect(await same()).toEqual(third);
    clock.now += 7 * DAY;
    await both(events(4000, 100, 'week', TODAY + 2 * DAY, 17 * 60_000_000));
    await same();
    await hot.close();
    await cold.close();
  });

  it('switches itself off past its bound and SQL answers the same', async () => {
    const clock = { now: TODAY + 12 * MICROS_PER_HOUR };
    const [hot, cold] = await hotAndCold('bound', METERS, clock, { days: 62, maxCells: 40 }).open();
    const batch = events(0, 400, 'b', TODAY - 5 * DAY, 17 * 60_000_000);
    await hot.append(batch);
    await cold.append(batch);
    expect(await answers(hot)).toEqual(await answers(cold));
    expect(hot.dayTotalsCells).toBe(0);
    await hot.close();
    await cold.close();
  });

  it('a meter backfilled after an idle midnight is served from the first day the tier holds', async () => {
    const clock = { now: TODAY + 12 * MICROS_PER_HOUR };
    const { regHot, regCold, open } = hotAndCold('midnight', METERS.slice(0, 1), clock);
    const [hot, cold] = await open();
    // Events on the first day the tier keeps (62 days back) and the two after it.
    const batch = events(0, 300, 'm', TODAY - 62 * DAY, 14 * 60_000_000);
    await hot.append(batch);
    await cold.append(batch);
    const from = TODAY - 62 * DAY;
    const daily = (meter: string): AggregateQuery => ({ meter, from, to: from + 3 * DAY, windows: { kind: 'uniform', origin: from, width: DAY, count: 3 }, groupByTenant: true, groupDims: [], filters: [], aggregation: 'MAX' });
    const text = async (s: DuckDbStore, meter: string) => (await s.aggregate(daily(meter), 'day')).map((r) => `${r.window}|${r.tenant}|${r.components.count}|${r.components.max}`).sort();
    expect(await text(hot, compileMeter(METERS[0]!).series)).toEqual(await text(cold, compileMeter(METERS[0]!).series));
    clock.now += DAY; // past midnight, nothing ingested since: the tier still holds that first day
    const peak: MeterDefinition = { slug: 'peak_by_route', eventType: 'call', aggregation: 'MAX', valueProperty: '$.b', groupBy: { route: '$.r' } };
    const m = compileMeter(peak);
    const backfill = (e: readonly EventRecord[]) => deriveRollups(e, (t) => (t === 'call' ? [m] : []));
    await hot.createMeter(peak, backfill, () => regHot.add(peak));
    await cold.createMeter(peak, backfill, () => regCold.add(peak));
    const hotRows = await text(hot, m.series);
    expect(hotRows.filter((r) => r.startsWith('0|')).length).toBeGreaterThan(0);
    expect(hotRows).toEqual(await text(cold, m.series));
    await hot.close();
    await cold.close();
  });
});
