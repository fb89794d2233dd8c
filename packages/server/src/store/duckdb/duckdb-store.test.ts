import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../events/event.ts';
import { MeterRegistry } from '../../meters/registry.ts';
import { deriveRollups } from '../../usage/derive-rollups.ts';
import { runStoreContract } from '../contract.ts';
import type { AggregateQuery } from '../port.ts';
import { DuckDbStore } from './duckdb-store.ts';
import { appendDerived, inTransaction } from './rows.ts';
import { COMPACTED_TABLES, DDL, DIM_COLUMNS, SPLIT_DELTAS } from './schema.ts';

runStoreContract('DuckDB', async (derive, path) => {
  const p = path ?? join(mkdtempSync(join(tmpdir(), 'tally-duck-')), 'test.duckdb');
  return { store: await DuckDbStore.open({ path: p, derive }), path: p };
});

describe('DuckDB compaction', () => {
  it('answers the same before and after compaction, with and without dimensions, and across a reopen', async () => {
    const registry = new MeterRegistry([{ slug: 'bytes', eventType: 'call', aggregation: 'SUM', valueProperty: '$.b', groupBy: { route: '$.r' } }]);
    const derive = (e: readonly EventRecord[]) => deriveRollups(e, (t) => registry.forType(t), ['minute']);
    const path = join(mkdtempSync(join(tmpdir(), 'tally-compact-')), 'c.duckdb');
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    const events: EventRecord[] = Array.from({ length: 500 }, (_, i) => {
      const data = { r: `/r${i % 3}`, b: '0.5' };
      return { tenant: `t${i % 4}`, id: `c${i}`, type: 'call', source: 's', time: T0 + i * 7 * 60_000_000, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(i) };
    });
    const day = 86_400_000_000;
    const ask = async (s: DuckDbStore, res: 'minute' | 'hour' | 'day', groupDims: number[]) => {
      const rows = await s.aggregate({ meter: registry.get('bytes')!.series, from: T0, to: T0 + 3 * day, windows: { kind: 'uniform', origin: T0, width: day, count: 3 }, groupByTenant: true, groupDims, filters: [], aggregation: 'SUM' }, res);
      return rows.map((r) => `${r.window}|${r.tenant}|${r.dims.join(',')}|${r.components.sum}`).sort();
    };
    let s = await DuckDbStore.open({ path, derive });
    await s.append(events.slice(0, 250));
    const before = await Promise.all([ask(s, 'day', []), ask(s, 'hour', [0]), ask(s, 'minute', [])]);
    await s.compactNow();
    await s.append(events.slice(250));
    // Compacted day rows and pending deltas of the same days: each cell answered once, merged.
    const mixed = await ask(s, 'day', []);
    expect(mixed).toEqual(await ask(s, 'minute', []));
    await s.compactNow();
    const after = await Promise.all([ask(s, 'day', []), ask(s, 'hour', [0]), ask(s, 'minute', [])]);
    expect(before[0]!.length).toBeGreaterThan(0);
    const expected = await Promise.all([ask(s, 'minute', []), ask(s, 'minute', [0])]);
    expect(after[0]).toEqual(expected[0]);
    expect(after[1]).toEqual(expected[1]);
    expect(after[2]).toEqual(expected[0]);
    await s.close();
    s = await DuckDbStore.open({ path, derive });
    expect(await ask(s, 'day', [])).toEqual(after[0]);
    const total = (await ask(s, 'day', [])).reduce((a, r) => a + BigInt(r.split('|')[3]!), 0n);
    expect(total).toBe(500n * 500_000_000_000n); // 500 × 0.5, scaled by 10^12
    await s.close();
  });
});

describe('DuckDB rollup layout upgrade', () => {
  it('rebuilds rollups of a store written with DECIMAL quantity columns from its raw events', async () => {
    const registry = new MeterRegistry([{ slug: 'bytes', eventType: 'call', aggregation: 'SUM', valueProperty: '$.b', groupBy: {} }]);
    const derive = (e: readonly EventRecord[]) => deriveRollups(e, (t) => registry.forType(t), ['minute']);
    const path = join(mkdtempSync(join(tmpdir(), 'tally-upgrade-')), 'u.duckdb');
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    const events: EventRecord[] = Array.from({ length: 300 }, (_, i) => {
      const data = { b: '0.25' };
      return { tenant: 't', id: `u${i}`, type: 'call', source: 's', time: T0 + i * 60_000_000, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(i) };
    });
    let s = await DuckDbStore.open({ path, derive });
    await s.append(events);
    await s.close();
    // Turn the file into the earlier layout: DECIMAL(38, 12) quantities, rollups that would be wrong if kept.
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    for (const t of ['rollups_minute', 'rollups_hour', 'rollups_day', 'rollups_hour_total', 'rollups_day_total', 'rollup_deltas']) {
      await c.run(`DROP TABLE ${t}`);
      await c.run(`CREATE TABLE ${t} (meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, res VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL,
        d1 VARCHAR, d2 VARCHAR, d3 VARCHAR, d4 VARCHAR, d5 VARCHAR, d6 VARCHAR, d7 VARCHAR, d8 VARCHAR, cnt BIGINT NOT NULL,
        sum DECIMAL(38, 12), min DECIMAL(38, 12), max DECIMAL(38, 12), latest_value DECIMAL(38, 12), latest_us BIGINT, latest_id VARCHAR)`);
    }
    await c.run(`INSERT INTO rollups_day VALUES ('${registry.get('bytes')!.series}', 't', 'day', ${T0}, '[]', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 999, 999, 999, NULL, NULL, NULL)`);
    c.closeSync();
    db.closeSync();
    s = await DuckDbStore.open({ path, derive });
    const rows = await s.aggregate({ meter: registry.get('bytes')!.series, from: T0, to: T0 + 86_400_000_000, windows: { kind: 'uniform', origin: T0, width: 86_400_000_000, count: 1 }, groupByTenant: true, groupDims: [], filters: [], aggregation: 'SUM' }, 'day');
    expect(rows.map((r) => [r.components.count, r.components.sum])).toEqual([[300n, 75n * 10n ** 12n]]);
    await s.close();
  });
});

describe('DuckDB pending deltas without dimension columns', () => {
  it('reads the dimensions of pending deltas from their key, also after opening a store whose deltas still have d1…d8', async () => {
    const registry = new MeterRegistry([{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { route: '$.r', zone: '$.z' } }]);
    const derive = (e: readonly EventRecord[]) => deriveRollups(e, (t) => registry.forType(t), ['minute']);
    const path = join(mkdtempSync(join(tmpdir(), 'tally-deltadims-')), 'd.duckdb');
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    // A tab, quotes, backslashes and non-ASCII survive; (a lone surrogate or NUL is refused at ingest).
    const routes = ['/a', '/b "quoted"', '/ü/\\slash', null, '/tab\there'];
    const events: EventRecord[] = Array.from({ length: 200 }, (_, i) => {
      const data: Record<string, unknown> = { z: i % 3 === 0 ? 7 : `eu-${i % 2}` };
      if (routes[i % 5] !== null) data.r = routes[i % 5];
      return { tenant: `t${i % 2}`, id: `d${i}`, type: 'call', source: 's', time: T0 + i * 60_000_000, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(i) };
    });
    const ask = async (s: DuckDbStore, filters: AggregateQuery['filters'] = []) => {
      const rows = await s.aggregate({ meter: registry.get('calls')!.series, from: T0, to: T0 + 86_400_000_000, windows: { kind: 'uniform', origin: T0, width: 3_600_000_000, count: 24 }, groupByTenant: true, groupDims: [0, 1], filters, aggregation: 'COUNT' }, 'hour');
      return rows.map((r) => `${r.window}|${r.tenant}|${JSON.stringify(r.dims)}|${r.components.count}`).sort();
    };
    let s = await DuckDbStore.open({ path, derive });
    await s.append(events);
    const pending = await ask(s);
    const filtered = await ask(s, [{ dim: 0, values: ['/b "quoted"'] }, { dim: 1, values: ['7'] }]);
    expect(pending.some((r) => r.includes('[null,"7"]'))).toBe(true);
    expect(pending.some((r) => r.includes('/tab\\there'))).toBe(true);
    expect(filtered.length).toBeGreaterThan(0);
    await s.close(); // compacts: the compacted rows hold the dimension columns
    expect(await ask((s = await DuckDbStore.open({ path, derive })))).toEqual(pending);
    await s.append(events.map((e) => ({ ...e, id: `again-${e.id}` })));
    const doubled = await ask(s);
    await s.close();
    // The earlier layout with everything pending: the minute rows as deltas with d1…d8, nothing compacted.
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run(`CREATE TABLE old_deltas AS SELECT meter, tenant, res, bucket_us, dim_key, ${DIM_COLUMNS.join(', ')}, cnt, sum, min, max, latest_value, latest_us, latest_id FROM rollups_minute`);
    await c.run(`DROP TABLE rollup_deltas`);
    await c.run(`ALTER TABLE old_deltas RENAME TO rollup_deltas`);
    for (const t of COMPACTED_TABLES) await c.run(`DELETE FROM ${t}`);
    c.closeSync();
    db.closeSync();
    s = await DuckDbStore.open({ path, derive });
    expect(await ask(s)).toEqual(doubled);
    await s.append(events.map((e) => ({ ...e, id: `third-${e.id}` })));
    const tripled = await ask(s);
    expect(tripled.map((r) => r.split('|').slice(0, 3).join('|'))).toEqual(pending.map((r) => r.split('|').slice(0, 3).join('|')));
    expect(tripled.map((r) => BigInt(r.split('|')[3]!))).toEqual(pending.map((r) => 3n * BigInt(r.split('|')[3]!)));
    expect(await ask(s, [{ dim: 0, values: ['/b "quoted"'] }, { dim: 1, values: ['7'] }])).toEqual(filtered.map((r) => r.replace(/\|(\d+)$/, (_, n: string) => `|${3n * BigInt(n)}`)));
    await s.close();
  });
});

describe('DuckDB pending deltas in two tables', () => {
  it.each([
    ['as found', false],
    ['after a crash that dropped only `res`', true],
  ])('splits the pending deltas of the one-table layout (res and latest columns) into rollup_deltas and latest_deltas, answers unchanged (%s)', async (_, crashed) => {
    const registry = new MeterRegistry([
      { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { route: '$.r' } },
      { slug: 'bytes', eventType: 'call', aggregation: 'SUM', valueProperty: '$.b', groupBy: { route: '$.r' } },
      { slug: 'last', eventType: 'call', aggregation: 'LATEST', valueProperty: '$.b', groupBy: {} },
    ]);
    const derive = (e: readonly EventRecord[]) => deriveRollups(e, (t) => registry.forType(t), ['minute']);
    const path = join(mkdtempSync(join(tmpdir(), 'tally-split-')), 's.duckdb');
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    const events = (tag: string): EventRecord[] =>
      Array.from({ length: 120 }, (_, i) => {
        const data = { r: `/r${i % 4}`, b: `${i}.5` };
        return { tenant: `t${i % 3}`, id: `${tag}${i}`, type: 'call', source: 's', time: T0 + i * 20_000_000, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(i) };
      });
    const ask = async (s: DuckDbStore, slug: string, res: 'minute' | 'hour') => {
      const width = res === 'minute' ? 60_000_000 : 3_600_000_000;
      const rows = await s.aggregate({ meter: registry.get(slug)?.series ?? slug, from: T0, to: T0 + 3_600_000_000, windows: { kind: 'uniform', origin: T0, width, count: 3_600_000_000 / width }, groupByTenant: true, groupDims: slug === 'calls' || slug === 'bytes' ? [0] : [], filters: [] }, res);
      return rows.map((r) => `${r.window}|${r.tenant}|${JSON.stringify(r.dims)}|${r.components.count}|${r.components.sum}|${r.components.latest?.value}|${r.components.latest?.id}`).sort();
    };
    const askAll = async (s: DuckDbStore) => Promise.all(['calls', 'bytes', 'last'].flatMap((m) => [ask(s, m, 'minute'), ask(s, m, 'hour')]));
    let s = await DuckDbStore.open({ path, derive });
    await s.append(events('a'));
    const expected = await askAll(s);
    expect(expected.every((rows) => rows.length > 0)).toBe(true);
    expect(expected[4]!.some((r) => r.endsWith('|a119'))).toBe(true);
    await s.close(); // compacts
    // The one-table layout with everything pending, plus a row holding both stats and a latest.
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run('DROP TABLE rollup_deltas');
    await c.run('DROP TABLE latest_deltas');
    await c.run(`CREATE TABLE rollup_deltas AS SELECT meter, tenant, res, bucket_us, dim_key, cnt, sum, min, max, latest_value, latest_us, latest_id FROM rollups_minute`);
    await c.run(`INSERT INTO rollup_deltas VALUES ('both', 't9', 'minute', ${T0}, '[]', 2, 5000000000000, 1000000000000, 4000000000000, 4000000000000, ${T0 + 5}, 'z')`);
    for (const t of COMPACTED_TABLES) await c.run(`DELETE FROM ${t}`);
    if (crashed) {
      // The move committed, then the first column drop, then the process died.
      await c.run('CREATE TABLE latest_deltas (meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL, cnt BIGINT NOT NULL, latest_value HUGEINT, latest_us BIGINT, latest_id VARCHAR)');
      await c.run('BEGIN TRANSACTION');
      for (const sql of SPLIT_DELTAS.move) await c.run(sql);
      await c.run('COMMIT');
      await c.run('ALTER TABLE rollup_deltas DROP COLUMN res');
    }
    c.closeSync();
    db.closeSync();
    s = await DuckDbStore.open({ path, derive });
    expect(await askAll(s)).toEqual(expected);
    const [both] = await s.aggregate({ meter: 'both', from: T0, to: T0 + 60_000_000, windows: { kind: 'uniform', origin: T0, width: 60_000_000, count: 1 }, groupByTenant: true, groupDims: [], filters: [] }, 'minute');
    expect([both?.components.count, both?.components.sum, both?.components.max, both?.components.latest?.id]).toEqual([2n, 5n * 10n ** 12n, 4n * 10n ** 12n, 'z']);
    // New deltas land in the two tables beside the moved ones; compaction folds both.
    await s.append(events('b'));
    const doubled = await askAll(s);
    await s.close();
    s = await DuckDbStore.open({ path, derive });
    expect(await askAll(s)).toEqual(doubled);
    const counts = (rows: string[][]) => rows.slice(0, 4).flatMap((r) => r.map((x) => BigInt(x.split('|')[3]!)));
    expect(counts(doubled)).toEqual(counts(expected).map((n) => 2n * n));
    expect(doubled[4]!.some((r) => r.endsWith('|b119'))).toBe(true);
    await s.close();
  });
});

describe('DuckDB pending facts without dimension columns', () => {
  it('counts distinct values per dimension the same whether their facts are pending, compacted or both', async () => {
    const registry = new MeterRegistry([{ slug: 'users', eventType: 'use', aggregation: 'UNIQUE_COUNT', valueProperty: '$actor', groupBy: { feature: '$.f', zone: '$.z' } }]);
    const derive = (e: readonly EventRecord[]) => deriveRollups(e, (t) => registry.forType(t), ['minute']);
    const path = join(mkdtempSync(join(tmpdir(), 'tally-facts-')), 'f.duckdb');
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    const features = ['export "csv"', 'sso', null, 'ü\\x'];
    const events = (tag: string, n: number): EventRecord[] =>
      Array.from({ length: n }, (_, i) => {
        const data: Record<string, unknown> = { z: i % 3 === 0 ? 'eu' : 'us' };
        if (features[i % 4] !== null) data.f = features[i % 4];
        return { tenant: `t${i % 2}`, id: `${tag}${i}`, type: 'use', source: 's', time: T0 + i * 7_000_000, actor: `user-${i % 11}`, data, dataJson: JSON.stringify(data), contentHash: String(i) };
      });
    /** Distinct actors per (hour, tenant, feature) recomputed from the events, for zone "us" only. */
    const expected = (evs: EventRecord[]) => {
      const sets = new Map<string, Set<string>>();
      for (const e of evs) {
        if (e.data.z !== 'us') continue;
        const k = `${Math.floor((e.time - T0) / 3_600_000_000)}|${e.tenant}|${JSON.stringify([(e.data.f as string | undefined) ?? null])}`;
        sets.set(k, (sets.get(k) ?? new Set()).add(e.actor!));
      }
      return [...sets].map(([k, v]) => `${k}|${v.size}`).sort();
    };
    const ask = async (s: DuckDbStore) => {
      const rows = await s.countUnique({ meter: 'users', from: T0, to: T0 + 86_400_000_000, windows: { kind: 'uniform', origin: T0, width: 3_600_000_000, count: 24 }, groupByTenant: true, groupDims: [0], filters: [{ dim: 1, values: ['us'] }] });
      return rows.map((r) => `${r.window}|${r.tenant}|${JSON.stringify(r.dims)}|${r.count}`).sort();
    };
    const first = events('a', 900);
    let s = await DuckDbStore.open({ path, derive });
    await s.append(first);
    expect(await ask(s)).toEqual(expected(first)); // pending
    await s.close(); // compacts
    s = await DuckDbStore.open({ path, derive });
    expect(await ask(s)).toEqual(expected(first)); // compacted
    const second = events('b', 1200);
    await s.append(second);
    expect(await ask(s)).toEqual(expected([...first, ...second])); // both
    expect((await ask(s)).some((r) => r.includes('[null]'))).toBe(true);
    await s.close();
  });
});

describe('DuckDB appends that fail midway', () => {
  it('write nothing, in the rolled-back transaction or after it', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    for (const sql of DDL) await c.run(sql);
    const row = (sum: bigint) => ({ meter: 'm', tenant: 't', res: 'minute' as const, bucket: 0, dimKey: '[]', dims: [], c: { count: 1n, sum, min: sum, max: sum, latest: null } });
    // The second row's sum does not fit the column (HUGEINT): the append throws after the first row was buffered.
    const bad = { rollups: [row(1n), row(2n ** 130n)], uniques: [], skipped: 0 };
    await expect(inTransaction(c, async () => void (await appendDerived(c, bad)))).rejects.toThrow();
    // Outside a transaction too: the buffered first row is discarded, not written when the appender closes.
    await expect(appendDerived(c, bad)).rejects.toThrow();
    expect((await c.runAndReadAll('SELECT count(*) FROM rollup_deltas')).getRows()[0]![0]).toBe(0n);
    await inTransaction(c, async () => void (await appendDerived(c, { rollups: [row(5n)], uniques: [], skipped: 0 })));
    const rows = (await c.runAndReadAll('SELECT cnt, sum FROM rollup_deltas')).getRows();
    expect(rows.map((r) => [r[0], r[1]])).toEqual([[1n, 5n]]);
    c.closeSync();
    db.closeSync();
  });
});

describe('DuckDB rollups keyed by series', () => {
  it('rebuilds the rollups of a store that keyed them by meter slug', async () => {
    const registry = new MeterRegistry([
      { slug: 'peak', eventType: 'call', aggregation: 'MAX', valueProperty: '$.b', groupBy: {} },
      { slug: 'mean', eventType: 'call', aggregation: 'AVG', valueProperty: '$.b', groupBy: {} },
    ]);
    const derive = (e: readonly EventRecord[]) => deriveRollups(e, (t) => registry.forType(t), ['minute']);
    const path = join(mkdtempSync(join(tmpdir(), 'tally-series-')), 's.duckdb');
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    const events: EventRecord[] = Array.from({ length: 100 }, (_, i) => {
      const data = { b: String(i) };
      return { tenant: 't', id: `s${i}`, type: 'call', source: 's', time: T0 + i * 60_000_000, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(i) };
    });
    const series = registry.get('peak')!.series;
    expect(registry.get('mean')!.series).toBe(series);
    const ask = async (s: DuckDbStore) => {
      const [row] = await s.aggregate({ meter: series, from: T0, to: T0 + 86_400_000_000, windows: { kind: 'explicit', boundaries: [T0, T0 + 86_400_000_000] }, groupByTenant: false, groupDims: [], filters: [] }, 'day');
      return [row?.components.count, row?.components.max, row?.components.sum];
    };
    let s = await DuckDbStore.open({ path, derive });
    await s.append(events);
    const expected = [100n, 99n * 10n ** 12n, 4950n * 10n ** 12n];
    expect(await ask(s)).toEqual(expected);
    await s.close();
    // The earlier layout: rows under the slugs, no layout marker.
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    for (const t of COMPACTED_TABLES) await c.run(`UPDATE ${t} SET meter = 'peak'`);
    await c.run(`DELETE FROM meta WHERE key = 'rollup_series_layout'`);
    c.closeSync();
    db.closeSync();
    s = await DuckDbStore.open({ path, derive });
    expect(await ask(s)).toEqual(expected);
    await s.close();
  });
});
