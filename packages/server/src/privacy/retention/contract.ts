import { afterEach, describe, expect, it } from 'vitest';
import { TallyError } from '../../errors/registry.ts';
import type { EventRecord } from '../../events/event.ts';
import type { MeterDefinition } from '../../meters/meter.ts';
import { MeterRegistry } from '../../meters/registry.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE } from '../../shared/time.ts';

const MICROS_PER_SECOND = 1_000_000;
import type { RollupDeriver, UsageStore } from '../../store/port.ts';
import { deriveRollups } from '../../usage/derive-rollups.ts';
import { QueryService, type UsageQuery } from '../../usage/query-service.ts';
import { retentionConfigSchema } from './policy.ts';
import type { RetentionStore } from './port.ts';
import { RetentionService } from './service.ts';

/** Opens a store and its retention adapter on fresh storage, with the clock given. */
/** `reopen` closes `store` and opens the same data again. */
export type RetentionFactory = (derive: RollupDeriver, nowMicros: () => number) => Promise<{ store: UsageStore; retention: RetentionStore; reopen: () => Promise<UsageStore> }>;

const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'tokens', eventType: 'call', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: {} },
  { slug: 'peak', eventType: 'call', aggregation: 'MAX', valueProperty: '$.tokens', groupBy: {} },
  { slug: 'users', eventType: 'call', aggregation: 'UNIQUE_COUNT', valueProperty: '$actor', groupBy: {} },
];

/** 2026-12-01 00:00 UTC: "now" after 90 days of history. */
const END = Date.UTC(2026, 11, 1) * 1000;
const START = END - 90 * MICROS_PER_DAY;

function ev(day: number, i: number, extra = '', perDay = 96): EventRecord {
  const time = START + day * MICROS_PER_DAY + Math.floor(i / perDay * 96) * 15 * MICROS_PER_MINUTE + (i % 50) * MICROS_PER_SECOND;
  const data = { route: i % 3 === 0 ? '/a' : '/b', tokens: `${(day * 7 + i) % 50}.25` };
  const actor = `u${(day + i) % 11}`;
  return { tenant: i % 2 === 0 ? 'acme' : 'globex', id: `d${day}-${i}`, type: 'call', source: 'retention', time, actor, data, dataJson: JSON.stringify(data), contentHash: `h:${day}:${i}${extra}` };
}

const policy = retentionConfigSchema.parse({ raw: 30, minute: 7, hour: 60, day: null, unique: 30, accessLog: 30 });
const ingest = { backfillDays: 35, maxFutureMicros: 300 * MICROS_PER_SECOND };

/**
 * The contract of retention over a usage store (DuckDB and ClickHouse): a store spanning 90
 * days, the clock moved to its end, one run. Tiers older than their limits are gone, every
 * question still inside the kept tiers answers exactly as before, questions needing a dropped
 * tier are refused with RETENTION_EXCEEDED, the store shrank, and a re-sent id whose raw row
 * is gone is still a duplicate (the dedupe ledger).
 */
export function runRetentionContract(name: string, factory: RetentionFactory, opts: { perDay?: number } = {}): void {
  // DuckDB frees whole row groups (122,880 rows) only: its store must be large enough to show it.
  const PER_DAY = opts.perDay ?? 96;
  describe(`retention contract: ${name}`, () => {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of closers.splice(0)) await c();
    });

    it('90 days: old tiers gone, kept answers identical, refusals name the tier, size shrank, an old id is still a duplicate', async () => {
      let now = START;
      const clock = { nowMicros: () => now };
      const registry = new MeterRegistry(METERS);
      const derive: RollupDeriver = (events) => deriveRollups(events, (t) => registry.forType(t));
      const { store, retention, reopen } = await factory(derive, () => now);
      let current = store;
      closers.push(() => current.close());
      for (let day = 0; day < 90; day++) {
        now = START + (day + 1) * MICROS_PER_DAY - MICROS_PER_MINUTE;
        const out = await store.append(Array.from({ length: PER_DAY }, (_, i) => ev(day, i, '', PER_DAY)));
        expect(out.every((o) => o.status === 'accepted')).toBe(true);
      }
      now = END;
      const queries = new QueryService(store, registry, clock);
      const kept: Record<string, UsageQuery> = {
        daysAll: { meter: 'calls', from: START, to: END, windowSize: 'DAY', groupBy: ['tenant', 'route'] },
        tokensDays: { meter: 'tokens', from: START, to: END, windowSize: 'DAY' },
        peakDays: { meter: 'peak', from: START, to: END, windowSize: 'DAY' },
        hours60: { meter: 'tokens', from: END - 60 * MICROS_PER_DAY, to: END, windowSize: 'HOUR', groupBy: ['tenant'] },
        minutes7: { meter: 'calls', from: END - 7 * MICROS_PER_DAY, to: END, windowSize: 'MINUTE' },
        users30: { meter: 'users', from: END - 30 * MICROS_PER_DAY, to: END, windowSize: 'DAY' },
        // A boundary inside a minute: answered from raw events.
        raw29: { meter: 'peak', from: END - 29 * MICROS_PER_DAY + 5 * MICROS_PER_SECOND, to: END, groupBy: ['tenant'] },
      };
      const before: Record<string, unknown> = {};
      for (const [k, q] of Object.entries(kept)) before[k] = (await queries.query(q)).data;
      const eventsBefore = await store.countEvents();

      const service = new RetentionService({ config: policy, ingest, store: retention, meta: store });
      const preview = await service.run(now, true);
      expect(await store.countEvents()).toBe(eventsBefore);
      const report = await service.run(now, false);
      const rows = Object.fromEntries(report.tiers.map((t) => [t.tier, t.rows]));
      expect(Object.fromEntries(preview.tiers.map((t) => [t.tier, t.rows]))).toEqual(rows);
      const shrink = (1 - report.bytesAfter! / report.bytesBefore) * 100;
      console.log(`[${name}] retention over 90 days: ${JSON.stringify(report.tiers.map((t) => ({ tier: t.tier, before: t.horizonAt, rows: t.rows, partitions: t.partitions, ledgered: t.ledgered })))}`);
      console.log(`[${name}] store ${report.bytesBefore} → ${report.bytesAfter} bytes (−${shrink.toFixed(1)} %), events ${eventsBefore} → ${await store.countEvents()}`);
      expect(report.bytesAfter!).toBeLessThan(report.bytesBefore);

      // Raw events older than 30 days (to the store's unit of deletion) are gone; the rest is all there.
      const raw = report.tiers.find((t) => t.tier === 'raw')!;
      // Ids of events between the ledger's horizon (backfill 35 days + skew + 1 day) and the raw horizon: days 54…59.
      const ledgered = raw.ledgered!;
      expect(ledgered).toBe(6 * PER_DAY);
      expect(raw.horizon).toBeLessThanOrEqual(END - 30 * MICROS_PER_DAY);
      expect(raw.horizon).toBeGreaterThan(END - 32 * MICROS_PER_DAY);
      const keptDays = Math.round((END - raw.horizon) / MICROS_PER_DAY);
      expect(await store.countEvents()).toBe(BigInt(keptDays * PER_DAY));
      expect(await store.listEvents({ to: raw.horizon, limit: 10 })).toEqual([]);
      for (const tier of ['minute', 'hour', 'unique'] as const) expect(rows[tier]).toBeGreaterThan(0);
      expect(rows.day).toBeUndefined(); // kept forever

      for (const [k, q] of Object.entries(kept)) expect({ k, data: (await queries.query(q)).data }).toEqual({ k, data: before[k] });

      const refused = async (q: UsageQuery, tier: string) => {
        const err = await queries.query(q).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TallyError);
        expect(err).toMatchObject({ code: 'RETENTION_EXCEEDED', status: 422, details: { tier } });
      };
      await refused({ meter: 'calls', from: END - 20 * MICROS_PER_DAY, to: END - 19 * MICROS_PER_DAY, windowSize: 'MINUTE' }, 'minute');
      await refused({ meter: 'tokens', from: START, to: START + MICROS_PER_DAY, windowSize: 'HOUR' }, 'hour');
      await refused({ meter: 'users', from: END - 50 * MICROS_PER_DAY, to: END - 40 * MICROS_PER_DAY, windowSize: 'DAY' }, 'unique');
      await refused({ meter: 'peak', from: END - 40 * MICROS_PER_DAY + MICROS_PER_SECOND, to: END - 39 * MICROS_PER_DAY }, 'raw');
      // The same old range at a resolution that is kept answers: the day tier.
      expect((await queries.query({ meter: 'calls', from: END - 80 * MICROS_PER_DAY, to: END - 79 * MICROS_PER_DAY, windowSize: 'DAY' })).data[0]!.value).toBe(String(PER_DAY));

      // Exactly-once across retention: ids of 34 days ago have no raw row, yet stay duplicates.
      const old = ev(56, 5, '', PER_DAY);
      expect(old.time).toBeLessThan(raw.horizon);
      expect(old.time).toBeGreaterThan(END - 35 * MICROS_PER_DAY);
      expect(await store.listEvents({ tenant: old.tenant, id: old.id, limit: 1 })).toEqual([]);
      expect(await store.append([old, ev(56, 6, 'changed', PER_DAY), { ...ev(56, 7, '', PER_DAY), id: 'fresh-34d' }])).toEqual([
        { status: 'duplicate', conflict: false },
        { status: 'duplicate', conflict: true },
        { status: 'accepted' },
      ]);
      // A second run deletes only what arrived since (the new event of 34 days ago: its raw
      // row, ledgered once; its rollup rows in dropped tiers) and ledgers nothing twice.
      const again = await service.run(now, false);
      expect(again.tiers.find((t) => t.tier === 'raw')).toMatchObject({ rows: 1, ledgered: 1 });
      expect(again.tiers.find((t) => t.tier === 'ledger')).toMatchObject({ rows: 0 });
      // Past the backfill horizon the ledger lets ids go: ingest refuses those times anyway.
      now = END + 10 * MICROS_PER_DAY;
      const later = await service.run(now, false);
      expect(later.tiers.find((t) => t.tier === 'ledger')!.rows).toBe(ledgered + 1);
      // The ledger is durable: after a restart (key filters rebuilt) an id it holds is still a duplicate.
      current = await reopen();
      expect(await current.listEvents({ tenant: 'globex', id: 'd66-3', limit: 1 })).toEqual([]);
      expect(await current.append([ev(66, 3, '', PER_DAY)])).toEqual([{ status: 'duplicate', conflict: false }]);
    }, 600_000);
  });
}
