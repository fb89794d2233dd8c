import { afterEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../events/event.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { compileMeter, type MeterDefinition } from '../meters/meter.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE } from '../shared/time.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { valueOf } from '../usage/components.ts';
import type { AggregateQuery, RollupDeriver, UsageStore } from './port.ts';

/** Opens a store for the contract suite; `path` lets a test reopen the same data. */
export type StoreFactory = (derive: RollupDeriver, path: string | undefined) => Promise<{ store: UsageStore; path: string }>;

const T0 = Date.UTC(2026, 0, 5) * 1000; // a Monday, 00:00 UTC, in microseconds

const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'tokens', eventType: 'call', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { route: '$.route' } },
  { slug: 'last', eventType: 'call', aggregation: 'LATEST', valueProperty: '$.tokens', groupBy: {} },
  { slug: 'users', eventType: 'call', aggregation: 'UNIQUE_COUNT', valueProperty: '$actor', groupBy: {} },
];

function ev(id: string, tenant: string, time: number, data: Record<string, unknown>, actor: string | null = null): EventRecord {
  return { tenant, id, type: 'call', source: 'contract', time, actor, data, dataJson: JSON.stringify(data), contentHash: `h:${JSON.stringify([time, data, actor])}` };
}

const MAXTOK: MeterDefinition = { slug: 'maxtok', eventType: 'call', aggregation: 'MAX', valueProperty: '$.tokens', groupBy: {} };

/** A store question about meter `slug` (asked of its rollup series, as the query service does). */
function q(slug: string, from: number, to: number, extra: Partial<AggregateQuery> = {}): AggregateQuery {
  const meter = compileMeter([...METERS, MAXTOK].find((m) => m.slug === slug)!).series;
  return { meter, from, to, windows: { kind: 'explicit', boundaries: [from, to] }, groupByTenant: false, groupDims: [], filters: [], ...extra };
}

/**
 * The one contract every UsageStore implementation passes (DuckDB now, ClickHouse with the
 * distributed profile): dedupe ledger, atomic rollups, exact aggregation at every resolution,
 * unique counts, scans, meters, keys, meta and durability across reopen.
 */
export function runStoreContract(name: string, factory: StoreFactory): void {
  describe(`UsageStore contract: ${name}`, () => {
    const open: UsageStore[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    const make = async (path?: string) => {
      const registry = new MeterRegistry(METERS);
      const r = await factory((events) => deriveRollups(events, (t) => registry.forType(t)), path);
      open.push(r.store);
      return r;
    };

    it('accepts new events and reports duplicates, with a conflict flag when content differs', async () => {
      const { store } = await make();
      const a = ev('e1', 't1', T0, { route: '/a', tokens: 1 });
      expect(await store.append([a, ev('e2', 't1', T0, { route: '/a', tokens: 2 })])).toEqual([{ status: 'accepted' }, { status: 'accepted' }]);
      const changed = ev('e1', 't1', T0, { route: '/a', tokens: 99 });
      expect(await store.append([a, changed, ev('e1', 't2', T0, { route: '/a', tokens: 1 })])).toEqual([
        { status: 'duplicate', conflict: false },
        { status: 'duplicate', conflict: true },
        { status: 'accepted' },
      ]);
      expect(await store.countEvents()).toBe(3n);
    });

    it('dedupes within one batch and across concurrent batches', async () => {
      const { store } = await make();
      const same = ev('dup', 't1', T0, { route: '/a', tokens: 1 });
      const results = await Promise.all(Array.from({ length: 8 }, () => store.append([same, same])));
      const accepted = results.flat().filter((o) => o.status === 'accepted').length;
      expect(accepted).toBe(1);
      const rows = await store.aggregate(q('calls', T0 - MICROS_PER_DAY, T0 + MICROS_PER_DAY), 'day');
      expect(rows.map((r) => r.components.count)).toEqual([1n]);
    });

    it('aggregates exactly at every resolution, with groups, tenants, filters and uniform windows', async () => {
      const { store } = await make();
      const events: EventRecord[] = [];
      for (let i = 0; i < 300; i++) {
        events.push(ev(`m${i}`, i % 3 === 0 ? 'big' : 'small', T0 + i * 7 * MICROS_PER_MINUTE + i, { route: i % 2 ? '/odd' : '/even', tokens: '0.1' }, `u${i % 7}`));
      }
      await store.append(events.slice(0, 150));
      await store.append(events.slice(150));
      const to = T0 + MICROS_PER_DAY * 2;
      for (const res of ['minute', 'hour', 'day'] as const) {
        const rows = await store.aggregate(q('tokens', T0, to, { groupByTenant: true, groupDims: [0] }), res);
        const byKey = Object.fromEntries(rows.map((r) => [`${r.tenant}|${r.dims[0]}`, valueOf('SUM', r.components)]));
        expect(byKey).toEqual({ 'big|/even': '5', 'big|/odd': '5', 'small|/even': '10', 'small|/odd': '10' });
      }
      const filtered = await store.aggregate(q('calls', T0, to, { tenants: ['big'], filters: [{ dim: 0, values: ['/odd'] }] }), 'hour');
      expect(filtered.map((r) => r.components.count)).toEqual([50n]);
      // Excluded tenants (the canary) are left out at every resolution, the day totals included.
      for (const res of ['minute', 'hour', 'day'] as const) {
        const rest = await store.aggregate(q('calls', T0, to, { excludeTenants: ['big'] }), res);
        expect(rest.map((r) => r.components.count)).toEqual([200n]);
        const grouped = await store.aggregate(q('calls', T0, to, { excludeTenants: ['big'], groupByTenant: true }), res);
        expect(grouped.map((r) => [r.tenant, r.components.count])).toEqual([['small', 200n]]);
      }
      expect((await store.countUnique(q('users', T0, to, { excludeTenants: ['small'] }))).map((r) => r.count)).toEqual([7n]);
      const hourly = await store.aggregate(q('calls', T0, T0 + 3 * MICROS_PER_HOUR, { windows: { kind: 'uniform', origin: T0, width: MICROS_PER_HOUR, count: 3 } }), 'minute');
      expect(hourly.map((r) => [r.window, r.components.count])).toEqual([
        [0, 9n], // i·7 min < 60: i = 0…8
        [1, 9n], // i = 9…17
        [2, 8n], // i = 18…25
      ]);
    });

    it('keeps LATEST by time then id, and counts unique values exactly', async () => {
      const { store } = await make();
      await store.append([ev('b', 't', T0 + 5, { route: '/', tokens: 2 }, 'x'), ev('a', 't', T0 + 5, { route: '/', tokens: 1 }, 'y')]);
      await store.append([ev('c', 't', T0 + 1, { route: '/', tokens: 3 }, 'x')]);
      const [last] = await store.aggregate(q('last', T0, T0 + MICROS_PER_DAY), 'day');
      expect(valueOf('LATEST', last!.components)).toBe('2');
      const uniq = await store.countUnique(q('users', T0, T0 + MICROS_PER_DAY));
      expect(uniq.map((r) => r.count)).toEqual([2n]);
    });

    it('registers a meter with a backfill that sees every stored event once', async () => {
      const { store } = await make();
      await store.append([ev('1', 't', T0, { route: '/', tokens: 4 }), ev('2', 't', T0 + 1, { route: '/', tokens: 6 }), ev('3', 't', T0 + 2, { route: '/' })]);
      const def: MeterDefinition = { slug: 'maxtok', eventType: 'call', aggregation: 'MAX', valueProperty: '$.tokens', groupBy: {} };
      const reg = new MeterRegistry([def]);
      let committed = false;
      const r = await store.createMeter(def, (events) => deriveRollups(events, (t) => reg.forType(t)), () => (committed = true));
      expect(committed).toBe(true);
      expect(r).toEqual({ backfilled: 2, skipped: 1 });
      const [row] = await store.aggregate(q('maxtok', T0, T0 + MICROS_PER_DAY), 'minute');
      expect(valueOf('MAX', row!.components)).toBe('6');
      expect((await store.listMeters()).map((m) => m.slug)).toContain('maxtok');
    });

    it('scans raw events in pages, in time order', async () => {
      const { store } = await make();
      const events = Array.from({ length: 25 }, (_, i) => ev(`s${i}`, `t${i % 2}`, T0 + (25 - i) * 1000, { route: '/' }));
      await store.append(events);
      const seen: string[] = [];
      for await (const page of store.scanEvents('call', T0, T0 + MICROS_PER_DAY, ['t0'])) seen.push(...page.map((e) => e.id));
      expect(seen).toHaveLength(13);
      expect(seen[0]).toBe('s24');
    });

    it('answers exactly for hostile strings in every query it builds (quotes, backslashes, comments, NUL, unicode)', async () => {
      const { store } = await make();
      const hostile = ["o'brien", 'back\\slash', "x' OR '1'='1", '-- comment', '/*c*/', 'semi;colon', '%_like', '\\\'', 'tab\there', 'ünï 🚀 中文', '"dq"'];
      const events = hostile.flatMap((h, i) => [ev(`h${i}`, h, T0 + i, { route: h, tokens: 1 }, h), ev(`h${i}'b`, h, T0 + i, { route: h, tokens: 2 })]);
      expect((await store.append(events)).every((o) => o.status === 'accepted')).toBe(true);
      expect(await store.append([ev("h0'b", "o'brien", T0, { route: "o'brien", tokens: 2 })])).toEqual([{ status: 'duplicate', conflict: false }]);
      const to = T0 + MICROS_PER_DAY;
      for (const h of hostile) {
        const byTenant = await store.aggregate(q('tokens', T0, to, { tenants: [h], groupByTenant: true, groupDims: [0] }), 'minute');
        expect(byTenant.map((r) => [r.tenant, r.dims[0], valueOf('SUM', r.components)])).toEqual([[h, h, '3']]);
        const filtered = await store.aggregate(q('calls', T0, to, { filters: [{ dim: 0, values: [h, 'absent'] }] }), 'day');
        expect(filtered.map((r) => r.components.count)).toEqual([2n]);
        expect((await store.countUnique(q('users', T0, to, { tenants: [h] }))).map((r) => r.count)).toEqual([1n]);
        const scanned: string[] = [];
        for await (const page of store.scanEvents('call', T0, to, [h])) scanned.push(...page.map((e) => e.id));
        expect(scanned).toHaveLength(2);
      }
      // Strings no stored value holds match nothing, and break nothing.
      for (const h of ['a\u0000b', '\u0000', "'\u0000--", 'x\\\u0000']) {
        expect(await store.aggregate(q('calls', T0, to, { tenants: [h], filters: [{ dim: 0, values: [h] }] }), 'minute')).toEqual([]);
        expect(await store.countUnique(q('users', T0, to, { tenants: [h] }))).toEqual([]);
        expect(await store.getMeta(h)).toBeUndefined();
        expect(await store.revokeKey(h, 5)).toBe(false);
      }
      // Paging resumes after a hostile (time, tenant, id) key: every event is seen once.
      let seen = 0;
      for await (const page of store.scanEvents('call', T0, to)) seen += page.length;
      expect(seen).toBe(events.length);
      for (const h of hostile) await store.setMeta(`meta ${h}`, h);
      for (const h of hostile) expect(await store.getMeta(`meta ${h}`)).toBe(h);
      await store.putKey({ id: "key_'--", name: "n'\\", hash: 'h', scopes: ['read'], tenant: "o'brien", createdAt: 1, revokedAt: null });
      expect(await store.revokeKey("key_'--", 7)).toBe(true);
      expect((await store.listKeys()).find((k) => k.id === "key_'--")).toMatchObject({ name: "n'\\", tenant: "o'brien", revokedAt: 7, lastUsedAt: null });
      // Last use: the latest time wins, an older one recorded later changes nothing.
      await store.touchKeys([{ id: "key_'--", at: 50 }]);
      await store.touchKeys([{ id: "key_'--", at: 20 }]);
      expect((await store.listKeys()).find((k) => k.id === "key_'--")?.lastUsedAt).toBe(50);
      const def: MeterDefinition = { slug: 'quoted', description: "it's \\ -- ; \u0000", eventType: 'call', aggregation: 'COUNT', groupBy: {} };
      const reg = new MeterRegistry([def]);
      await store.createMeter(def, (e) => deriveRollups(e, (t) => reg.forType(t)), () => undefined);
      expect((await store.listMeters()).find((m) => m.slug === 'quoted')?.description).toBe(def.description);
    });

    it('lists raw events with filters, in (time, tenant, id) order, page by page', async () => {
      const { store } = await make();
      const events = Array.from({ length: 20 }, (_, i) => ({ ...ev(`l${i}`, i % 2 ? "o'k" : 't2', T0 + (i % 7) * MICROS_PER_MINUTE, { route: `/r${i % 3}`, tokens: i }), ...(i % 5 === 0 ? { type: 'other' } : {}) }));
      const before = Date.now() * 1000 - 60_000_000;
      await store.append(events);
      const all = await store.listEvents({ limit: 1000 });
      expect(all).toHaveLength(20);
      const key = (e: { time: number; tenant: string; id: string }) => [e.time, e.tenant, e.id] as const;
      const sorted = [...all].sort((a, b) => a.time - b.time || (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      expect(all.map(key)).toEqual(sorted.map(key));
      expect(all.every((e) => e.ingestedAt >= before)).toBe(true);
      const pages: string[] = [];
      let after: [number, string, string] | undefined;
      for (;;) {
        const page = await store.listEvents({ limit: 3, ...(after ? { after } : {}) });
        pages.push(...page.map((e) => e.id));
        if (page.length < 3) break;
        const last = page[page.length - 1]!;
        after = [last.time, last.tenant, last.id];
      }
      expect(pages).toEqual(all.map((e) => e.id));
      expect((await store.listEvents({ tenant: "o'k", limit: 1000 })).map((e) => e.id).sort()).toEqual(events.filter((_, i) => i % 2).map((e) => e.id).sort());
      expect((await store.listEvents({ type: 'other', limit: 1000 })).map((e) => e.id).sort()).toEqual(['l0', 'l10', 'l15', 'l5']);
      expect((await store.listEvents({ id: 'l7', tenant: "o'k", limit: 10 })).map((e) => [e.id, e.data])).toEqual([['l7', { route: '/r1', tokens: 7 }]]);
      expect(await store.listEvents({ from: T0 + MICROS_PER_MINUTE, to: T0 + 2 * MICROS_PER_MINUTE, limit: 1000 })).toHaveLength(3);
      expect(await store.listEvents({ ingestedTo: before, limit: 10 })).toEqual([]);
      expect(await store.listEvents({ tenant: "x' OR '1'='1", limit: 10 })).toEqual([]);
    });

    it('persists events, rollups, keys and meta across a reopen', async () => {
      const first = await make();
      await first.store.append([ev('p1', 't', T0, { route: '/', tokens: '1.5' })]);
      await first.store.setMeta('k', 'v');
      await first.store.putKey({ id: 'key_x', name: 'n', hash: 'h', scopes: ['read'], tenant: 't', createdAt: 1, revokedAt: null });
      await first.store.close();
      open.splice(open.indexOf(first.store), 1);
      const again = await make(first.path);
      expect(await again.store.getMeta('k')).toBe('v');
      expect(await again.store.revokeKey('key_x', 5)).toBe(true);
      expect((await again.store.listKeys())[0]).toMatchObject({ id: 'key_x', tenant: 't', revokedAt: 5 });
      expect(await again.store.append([ev('p1', 't', T0, { route: '/', tokens: '1.5' })])).toEqual([{ status: 'duplicate', conflict: false }]);
      const [row] = await again.store.aggregate(q('tokens', T0, T0 + MICROS_PER_DAY), 'day');
      expect(valueOf('SUM', row!.components)).toBe('1.5');
    });

    it('keeps key expiry and allowed meters (portal keys) across a reopen and a revocation', async () => {
      const first = await make();
      await first.store.putKey({ id: 'key_portal', name: 'portal', hash: 'h1', scopes: ['read'], tenant: 'acme', createdAt: 1, revokedAt: null, expiresAt: T0, allowedMeters: ['calls', "it's"] });
      await first.store.putKey({ id: 'key_plain', name: 'plain', hash: 'h2', scopes: ['admin'], tenant: null, createdAt: 2, revokedAt: null });
      await first.store.close();
      open.splice(open.indexOf(first.store), 1);
      const again = await make(first.path);
      const byId = async () => Object.fromEntries((await again.store.listKeys()).map((k) => [k.id, k]));
      expect((await byId()).key_portal).toMatchObject({ tenant: 'acme', expiresAt: T0, allowedMeters: ['calls', "it's"], revokedAt: null });
      expect((await byId()).key_plain).toMatchObject({ expiresAt: null, allowedMeters: null });
      expect(await again.store.revokeKey('key_portal', 9)).toBe(true);
      expect((await byId()).key_portal).toMatchObject({ expiresAt: T0, allowedMeters: ['calls', "it's"], revokedAt: 9 });
    });
  });
}
