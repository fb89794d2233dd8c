import { createHash } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.ts';
import type { EventRecord } from '../events/event.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { PlanCatalog } from '../quota/catalog.ts';
import type { MeterDefinition } from '../meters/meter.ts';
import type { UsageStore } from '../store/port.ts';
import { QueryService } from '../usage/query-service.ts';
import { DuckDbInvoiceRepo } from './duckdb/duckdb-invoice-repo.ts';
import { InvoiceIssuer } from './issue.ts';
import { PlanTimeline } from './plan-timeline.ts';
import type { PriceConfig } from './pricing/price-schema.ts';

/** Opens an empty store for the billing contract, deriving rollups with `registry`'s meters. */
export type BillingStoreFactory = (registry: MeterRegistry) => Promise<UsageStore>;

const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { region: '$.region' } },
  { slug: 'tokens', eventType: 'call', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { region: '$.region' } },
];
const D = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_EVEN });
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
const MONTH_US = 31 * 86_400_000_000;

interface Scenario {
  zone: string;
  anchorDay: number;
  prices: PriceConfig[];
  /** A plan change (to `later` prices) this far after the base time, or none. */
  change: { offsetUs: number; later: PriceConfig[] } | null;
  events: { id: string; offsetUs: number; region: string; tokens: string }[];
}

const priceArb: fc.Arbitrary<PriceConfig> = fc.oneof(
  fc.constantFrom<PriceConfig>({ model: 'unit', meter: 'tokens', unitPrice: '0.0013' }, { model: 'unit', meter: 'calls', unitPrice: '0.5', filter: { region: 'eu' } }),
  fc.constant<PriceConfig>({ model: 'graduated', meter: 'calls', tiers: [{ upTo: '3', unitPrice: '0' }, { upTo: '10', unitPrice: '0.25', flatAmount: '1' }, { unitPrice: '0.125' }] }),
  fc.constant<PriceConfig>({ model: 'volume', meter: 'tokens', tiers: [{ upTo: '100', unitPrice: '0.01' }, { unitPrice: '0.005', flatAmount: '2' }] }),
  fc.constant<PriceConfig>({ model: 'package', meter: 'tokens', packageSize: '50', packagePrice: '0.3', filter: { region: ['us', 'ap'] } }),
);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  zone: fc.constantFrom(...ZONES),
  anchorDay: fc.integer({ min: 1, max: 28 }),
  prices: fc.uniqueArray(priceArb, { minLength: 1, maxLength: 4, selector: (p) => JSON.stringify(p) }),
  change: fc.option(fc.record({ offsetUs: fc.integer({ min: 0, max: 35 * 24 }).map((h) => h * 3_600_000_000), later: fc.uniqueArray(priceArb, { minLength: 1, maxLength: 3, selector: (p) => JSON.stringify(p) }) }), { nil: null }),
  events: fc.array(fc.record({ id: fc.integer({ min: 0, max: 60 }).map((i) => `e${i}`), offsetUs: fc.integer({ min: -5 * 86_400_000, max: 40 * 86_400_000 }).map((ms) => ms * 1000), region: fc.constantFrom('eu', 'us', 'ap'), tokens: fc.constantFrom('1', '0.5', '12.25', '40', '0.001') }), { maxLength: 60 }),
});

/** The independent oracle: decimal.js over the deduped scenario events inside the period. */
function expectedAmount(p: PriceConfig, events: Scenario['events'], from: number, to: number, base: number): string {
  const inPeriod = events.filter((e) => base + e.offsetUs >= from && base + e.offsetUs < to);
  const chosen = p.model === 'flat' || !p.filter ? inPeriod : inPeriod.filter((e) => ([] as string[]).concat(p.filter!.region!).includes(e.region));
  const q = p.model !== 'flat' && p.meter === 'calls' ? new D(chosen.length) : chosen.reduce((s, e) => s.add(e.tokens), new D(0));
  switch (p.model) {
    case 'unit':
      return q.mul(p.unitPrice).toDecimalPlaces(2).toFixed(2);
    case 'package':
      return q.div(p.packageSize).ceil().mul(p.packagePrice).toDecimalPlaces(2).toFixed(2);
    case 'volume':
      return (q.lte(0) ? new D(0) : q.lte(100) ? q.mul('0.01') : q.mul('0.005').add(2)).toDecimalPlaces(2).toFixed(2);
    case 'graduated': {
      const t1 = D.max(D.min(q, 10).sub(3), 0);
      const t2 = D.max(q.sub(10), 0);
      return t1.mul('0.25').add(t1.gt(0) ? 1 : 0).add(t2.mul('0.125')).toDecimalPlaces(2).toFixed(2);
    }
    default:
      throw new Error('flat');
  }
}

/**
 * Billing's section of the store contract: the same random events (with duplicates, and events
 * either side of the period) in a store give invoices (from the rollups, verified against the raw
 * events) whose every line equals an independent decimal.js recomputation, for random time zones, anchors and prices — on every store.
 */
export function runBillingContract(name: string, factory: BillingStoreFactory, runs: number): void {
  describe(`billing contract: ${name}`, () => {
    it('every invoice line equals an independent recomputation from the raw events', async () => {
      const base = Date.UTC(2026, 2, 1) * 1000;
      await fc.assert(
        fc.asyncProperty(scenario, async (sc) => {
          const registry = new MeterRegistry(METERS);
          const store = await factory(registry);
          const repo = await DuckDbInvoiceRepo.open(await (await DuckDBInstance.create(':memory:')).connect());
          try {
            const anchor = `2026-01-${String(sc.anchorDay).padStart(2, '0')}`;
            const planChanges = sc.change ? [{ plan: 'q', effective: new Date((base + sc.change.offsetUs) / 1000).toISOString() }] : [];
            const config = configSchema.parse({ meters: METERS, plans: [{ id: 'p', currency: 'USD', prices: sc.prices }, { id: 'q', currency: 'USD', prices: sc.change?.later ?? sc.prices }], tenants: [{ id: 't', plan: 'p', billing: { anchor, timeZone: sc.zone, planChanges } }] });
            expect(PlanCatalog.compile(config, registry).problems).toEqual([]);
            const now = base + 45 * 86_400_000_000;
            const clock = { nowMicros: () => now };
            const issuer = new InvoiceIssuer({ store, meters: registry, queries: new QueryService(store, registry, clock), timeline: new PlanTimeline(config), repo, policy: { graceMicros: 0, backfillDays: 35 } });
            const records: EventRecord[] = sc.events.map((e) => {
              const data = { region: e.region, tokens: e.tokens };
              return { tenant: 't', id: e.id, type: 'call', source: 's', time: base + e.offsetUs, actor: null, data, dataJson: JSON.stringify(data), contentHash: createHash('sha256').update(JSON.stringify([e.offsetUs, data])).digest('base64url') };
            });
            await store.append(records.slice(0, Math.ceil(records.length / 2)));
            await store.append(records); // re-sends of the first half are duplicates
            const firstSeen = new Map<string, Scenario['events'][number]>();
            for (const e of sc.events) if (!firstSeen.has(e.id)) firstSeen.set(e.id, e);
            const period = issuer.duePeriods(base + 20 * 86_400_000_000).find((d) => d.tenant === 't')!.period;
            // Drafted from the rollups; the raw recomputation before finalization agrees with it.
            const [inv] = await issuer.verify([await issuer.draft('t', period, now)]);
            expect(inv!.reconciled, JSON.stringify(inv!.discrepancies)).toBe(true);
            const usage = inv!.lines.filter((l) => l.kind === 'usage');
            // The parts of the period: before and after the plan change when it falls inside.
            const cut = sc.change ? base + sc.change.offsetUs : Number.NaN;
            const parts = cut > period.start && cut < period.end ? [{ from: period.start, to: cut, prices: sc.prices }, { from: cut, to: period.end, prices: sc.change!.later }] : [{ from: period.start, to: period.end, prices: sc.change && cut <= period.start ? sc.change.later : sc.prices }];
            const expected = parts.flatMap((part) => part.prices.filter((p) => p.model !== 'flat').map((p) => expectedAmount(p, [...firstSeen.values()], part.from, part.to, base)));
            expect(usage.map((l) => l.amount)).toEqual(expected);
            expect(period.end - period.start).toBeLessThanOrEqual(MONTH_US);
          } finally {
            await repo.close();
            await store.close();
          }
        }),
        { numRuns: runs },
      );
      // Each run opens a store and drafts and verifies an invoice: ~2 s a run on a busy 2-core machine.
    }, 300_000);
  });
}
