import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../events/event.ts';
import type { MeterDefinition } from '../meters/meter.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { formatMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import { QueryService } from './query-service.ts';
import type { WindowSize } from './windows.ts';

/** Opens an empty usage store whose rollups are derived with `registry`. */
export type TimeWeightedStoreFactory = (registry: MeterRegistry) => Promise<UsageStore>;

/** Storage gauges: GB per tenant and disk, integrated to GB-hours and GB-seconds (only disks "a" and "b"). */
export const TIME_WEIGHTED_METERS: MeterDefinition[] = [
  { slug: 'gb_hours', eventType: 'resource.sample', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb', groupBy: { disk: '$.disk' } },
  { slug: 'gb_seconds', eventType: 'resource.sample', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb', groupBy: { disk: '$.disk' }, timeUnit: 'SECOND', filter: { '$.disk': { in: ['a', 'b'] } } },
];
const UNIT_MICROS: Record<string, number> = { gb_hours: 3_600_000_000, gb_seconds: 1_000_000 };

const DAY = 86_400_000_000;
const HOUR = 3_600_000_000;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe'];
const TENANTS = ['t1', 't2', 't3'];
const DISKS = ['a', 'b', 'c'];

interface GenSample {
  tenant: string;
  disk: string;
  /** µs after the slab's start (the range lies in days 3…9, so samples also come before it). */
  offset: number;
  gb: string;
}

const sampleArb: fc.Arbitrary<GenSample> = fc.record({
  tenant: fc.constantFrom(...TENANTS),
  disk: fc.constantFrom(...DISKS),
  // Whole hours and days often (samples on window edges), odd microseconds sometimes.
  offset: fc.oneof(fc.integer({ min: 0, max: 10 * 24 }).map((h) => h * HOUR), fc.integer({ min: 0, max: 10 * DAY })),
  gb: fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 999 })).map(([i, f]) => `${i}.${String(f).padStart(3, '0')}`),
});

const queryArb = fc.record({
  meter: fc.constantFrom('gb_hours', 'gb_seconds'),
  from: fc.oneof(fc.integer({ min: 3, max: 6 }).map((d) => d * DAY), fc.integer({ min: 3 * 24, max: 7 * 24 }).map((h) => h * HOUR), fc.integer({ min: 3 * DAY, max: 7 * DAY })),
  length: fc.oneof(fc.integer({ min: 1, max: 3 }).map((d) => d * DAY), fc.integer({ min: 1, max: 60 }).map((h) => h * HOUR), fc.integer({ min: 1, max: 3 * DAY })),
  /** "now" relative to the range's end: before it (the last sample holds only until now) or after. */
  nowShift: fc.oneof(fc.constant(DAY * 30), fc.integer({ min: -2 * DAY, max: DAY })),
  windowSize: fc.constantFrom<WindowSize | undefined>(undefined, 'HOUR', 'DAY', 'MONTH'),
  zone: fc.constantFrom(...ZONES),
  groupByTenant: fc.boolean(),
  groupByDisk: fc.boolean(),
  tenants: fc.subarray(TENANTS, { minLength: 1 }),
  filterDisk: fc.option(fc.subarray(DISKS, { minLength: 1 }), { nil: undefined, freq: 3 }),
});

/** Window boundaries by luxon, independently of the query service's layout. */
function refBoundaries(from: number, to: number, size: WindowSize | undefined, zone: string): number[] {
  if (size === undefined) return [from, to];
  const unit = size === 'HOUR' ? 'hour' : size === 'DAY' ? 'day' : 'month';
  const out = [from];
  let cur = DateTime.fromMillis(Math.floor(from / 1000), { zone }).startOf(unit);
  for (;;) {
    cur = cur.plus({ [unit + 's']: 1 });
    const b = cur.toMillis() * 1000;
    if (b >= to) break;
    if (b > from) out.push(b);
  }
  out.push(to);
  return out;
}

interface RefSample {
  tenant: string;
  disk: string;
  time: number;
  id: string;
  gb: Decimal;
}

/**
 * The integral by definition: for each window and each series, Σ value × |[tᵢ, tᵢ₊₁) ∩ window ∩
 * (−∞, now)| with decimal.js, the last sample held to the range's end; then summed per group
 * and rounded half-even to 12 digits.
 */
function refIntegral(samples: RefSample[], boundaries: number[], now: number, unitMicros: number, groupByTenant: boolean, groupByDisk: boolean): Map<string, string> {
  const bySeries = new Map<string, RefSample[]>();
  for (const s of samples) bySeries.set(`${s.tenant}|${s.disk}`, [...(bySeries.get(`${s.tenant}|${s.disk}`) ?? []), s]);
  const end = boundaries[boundaries.length - 1]!;
  const groups = new Map<string, Decimal>();
  for (const list of bySeries.values()) {
    list.sort((x, y) => x.time - y.time || (x.id < y.id ? -1 : 1));
    for (let w = 0; w + 1 < boundaries.length; w++) {
      const ws = boundaries[w]!;
      const we = boundaries[w + 1]!;
      let total = new Decimal(0);
      let present = list.some((s) => s.time >= ws && s.time < we);
      list.forEach((s, i) => {
        const segEnd = i + 1 < list.length ? list[i + 1]!.time : end;
        const overlap = Math.min(segEnd, we, now) - Math.max(s.time, ws);
        if (overlap > 0) {
          present = true;
          total = total.plus(s.gb.times(overlap));
        }
      });
      if (!present) continue;
      const key = JSON.stringify([w, groupByTenant ? list[0]!.tenant : null, groupByDisk ? list[0]!.disk : null]);
      groups.set(key, (groups.get(key) ?? new Decimal(0)).plus(total));
    }
  }
  return new Map([...groups].map(([k, v]) => [k, v.div(unitMicros).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN).toFixed()]));
}

/**
 * The TIME_WEIGHTED_SUM section of the store contract: random gauge samples (ties, samples on
 * window edges, samples before the range that carry a value into it), appended in random
 * order over two batches (the second mostly late), asked with random ranges, window sizes, time
 * zones, "now", group-bys and filters: the query service's answers equal the integral computed
 * by definition. Each run writes its own tenants in its own 40-day slab.
 */
export function runTimeWeightedContract(name: string, factory: TimeWeightedStoreFactory, runs: number): void {
  describe(`time-weighted sums: ${name}`, () => {
    const registry = new MeterRegistry(TIME_WEIGHTED_METERS);
    let store: UsageStore;
    let slab = 0;
    beforeAll(async () => {
      store = await factory(registry);
    }, 60_000);
    afterAll(async () => {
      await store?.close();
    });

    it('equal the integral of the held values, across window edges, time zones and late samples', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(sampleArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 60 }), queryArb, async (gen, split, qa) => {
          const n = slab++;
          const base = Date.UTC(2031, 0, 1) * 1000 + (n % 60) * 40 * DAY;
          const records: EventRecord[] = gen.map((g, i) => {
            const data = { disk: g.disk, gb: g.gb };
            // Ids in a different order from times: ties are broken by id, not by arrival.
            const id = `s${(i * 7919) % 1009}-${i}`;
            return { tenant: `w${n}${g.tenant}`, id, type: 'resource.sample', source: 'contract', time: base + g.offset, actor: null, data, dataJson: JSON.stringify(data), contentHash: createHash('sha256').update(`${n}:${i}`).digest('base64url') };
          });
          // Newest first in the first batch, so the second batch is late for most series.
          const byTimeDesc = [...records].sort((a, b) => b.time - a.time);
          const cut = Math.min(split, records.length);
          await store.append(byTimeDesc.slice(0, cut));
          await store.append(byTimeDesc.slice(cut));

          const from = base + qa.from;
          const to = from + qa.length;
          const now = to + qa.nowShift;
          const queries = new QueryService(store, registry, { nowMicros: () => now });
          const tenants = qa.tenants.map((t) => `w${n}${t}`);
          const groupBy = [...(qa.groupByTenant ? ['tenant'] : []), ...(qa.groupByDisk ? ['disk'] : [])];
          const got = await queries.query({ meter: qa.meter, from, to, windowSize: qa.windowSize, windowTimeZone: qa.zone, tenants, groupBy, ...(qa.filterDisk ? { filterGroupBy: { disk: qa.filterDisk } } : {}) });

          const meterDisks = qa.meter === 'gb_seconds' ? ['a', 'b'] : DISKS;
          const refs: RefSample[] = records
            .filter((r) => tenants.includes(r.tenant) && meterDisks.includes(r.data.disk as string) && (!qa.filterDisk || qa.filterDisk.includes(r.data.disk as string)))
            .map((r) => ({ tenant: r.tenant, disk: r.data.disk as string, time: r.time, id: r.id, gb: new Decimal(r.data.gb as string) }));
          const boundaries = refBoundaries(from, to, qa.windowSize, qa.zone);
          const expected = refIntegral(refs, boundaries, now, UNIT_MICROS[qa.meter]!, qa.groupByTenant, qa.groupByDisk);
          const soleTenant = tenants.length === 1 ? tenants[0]! : null;
          const want = [...expected].map(([k, value]) => {
            const [w, tenant, disk] = JSON.parse(k) as [number, string | null, string | null];
            return JSON.stringify([formatMicros(boundaries[w]!), formatMicros(boundaries[w + 1]!), tenant ?? soleTenant, disk, value]);
          });
          const have = got.data.map((d) => JSON.stringify([d.windowStart, d.windowEnd, d.tenant, d.groupBy.disk ?? null, d.value]));
          expect(have.sort()).toEqual(want.sort());
        }),
        { numRuns: runs },
      );
    }, 600_000);
  });
}
