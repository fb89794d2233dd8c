import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../events/event.ts';
import { MeterRegistry } from '../meters/registry.ts';
import type { MeterDefinition } from '../meters/meter.ts';
import { MICROS_PER_MS, parseRfc3339 } from '../shared/time.ts';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from '../store/clickhouse/testing.ts';
import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { QueryService } from '../usage/query-service.ts';
import { CostService } from '../costs/cost-service.ts';
import { monthPeriod } from '../costs/period.ts';
import { ClickHouseStorageStats } from './clickhouse/clickhouse-storage-stats.ts';
import { DuckDbStorageStats } from './duckdb/duckdb-storage-stats.ts';
import { ForecastService } from './forecast-service.ts';
import { demoShapedSeries } from './synthetic.ts';

const CH = process.env.TALLY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', new URL(CH).hostname, Number(new URL(CH).port || 8123));
const NOW = parseRfc3339('2026-11-14T00:00:00Z')!;
const clock = { nowMicros: () => NOW };
const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} },
  { slug: 'cpu', eventType: 'call', aggregation: 'SUM', valueProperty: '$.cpu', groupBy: {} },
];
const HOURS = 12 * 24;
const EVENTS: EventRecord[] = [];
for (const [i, [tenant, trend]] of ([['acme', 'growing'], ['globex', 'steady'], ['initech', 'churning']] as const).entries()) {
  const ys = demoShapedSeries({ hours: HOURS, endMs: NOW / MICROS_PER_MS, peakPerHour: 40 / (i + 1), trend, seed: 9 + i });
  ys.forEach((n, h) => {
    for (let k = 0; k < n; k++) {
      const time = NOW - (HOURS - h) * 3_600_000_000 + Math.floor((k * 3_600_000_000) / (n + 1));
      const data = { cpu: '0.25' };
      EVENTS.push({ tenant, id: `${tenant}-${h}-${k}`, type: 'call', source: 'test', time, actor: null, data, dataJson: JSON.stringify(data), contentHash: `h${h}-${k}` });
    }
  });
}
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

/** Bytes of the files under a path (recursively). */
function du(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((s, f) => s + du(join(path, f)), 0);
}

async function fill(store: UsageStore): Promise<MeterRegistry> {
  const registry = new MeterRegistry(METERS);
  for (const def of METERS) await store.createMeter(def, (events) => deriveRollups(events, (t) => registry.forType(t)), () => undefined);
  for (let i = 0; i < EVENTS.length; i += 5000) await store.append(EVENTS.slice(i, i + 5000));
  return registry;
}

/** What both profiles must answer alike. */
async function answers(store: UsageStore, registry: MeterRegistry) {
  const queries = new QueryService(store, registry, clock);
  const forecast = await new ForecastService(queries, registry, clock).forecast({ meter: 'calls', tenant: 'acme', horizonHours: 7 * 24, window: 'day', historyDays: 28, level: 0.8 });
  const costs = await new CostService([{ name: 'db', amount: '1000.00', currency: 'USD', period: 'month', allocateBy: 'cpu', dedicated: { initech: '50.00' } }], queries, registry).attribute(monthPeriod('2026-11', NOW));
  return { forecast, costs };
}

const results: Record<string, Awaited<ReturnType<typeof answers>>> = {};

describe('capacity on both stores', () => {
  it('DuckDB: forecast and costs from the store; measured bytes within 10 % of the file on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-cap-'));
    const store = await DuckDbStore.open({ path: join(dir, 'tally.duckdb'), derive: (events, into) => deriveRollups(events, (t) => registry.forType(t), ['minute'], into), nowMicros: () => NOW });
    let registry = new MeterRegistry(METERS);
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    try {
      registry = await fill(store);
      results.duckdb = await answers(store, registry);
      const m = await new DuckDbStorageStats(await store.connect()).measure();
      expect(m.tiers.find((t) => t.tier === 'raw')!.rows).toBe(EVENTS.length);
      expect(m.tiers.reduce((s, t) => s + t.bytes, 0)).toBeCloseTo(m.totalBytes, -1);
      const disk = du(dir);
      console.log(`duckdb: ${EVENTS.length} events, measured ${m.totalBytes} B (${(m.totalBytes / EVENTS.length).toFixed(1)} B/event), on disk ${disk} B`);
      expect(Math.abs(m.totalBytes - disk) / disk).toBeLessThan(0.1);
    } finally {
      await store.close();
    }
  }, 120_000);

  it.skipIf(!available)('ClickHouse: the same forecast and costs; measured bytes within 10 % of the parts on disk', async () => {
    const database = uniqueDatabase('capacity');
    cleanup.push(() => dropDatabase(CH, database));
    let registry = new MeterRegistry(METERS);
    const store = await ClickHouseStore.open({ url: CH, database, derive: (events) => deriveRollups(events, (t) => registry.forType(t)), nowMicros: () => NOW });
    const client = createClient({ url: CH });
    try {
      registry = await fill(store);
      results.clickhouse = await answers(store, registry);
      const m = await new ClickHouseStorageStats(client, database).measure();
      expect(m.tiers.find((t) => t.tier === 'raw')!.rows).toBe(EVENTS.length);
      // Independently of bytes_on_disk: the files of the active parts, where this machine can read them.
      const paths = (await (await client.query({ query: `SELECT path FROM system.parts WHERE database = '${database}' AND active`, format: 'JSONEachRow' })).json<{ path: string }>()).map((r) => r.path);
      const disk = paths.reduce((s, p) => s + du(p), 0);
      console.log(`clickhouse: ${EVENTS.length} events, measured ${m.totalBytes} B (${(m.totalBytes / EVENTS.length).toFixed(1)} B/event), part files ${disk} B`);
      expect(Math.abs(m.totalBytes - disk) / disk).toBeLessThan(0.1);
    } finally {
      await client.close();
      await store.close();
    }
    expect(results.clickhouse.forecast).toEqual(results.duckdb!.forecast);
    expect(results.clickhouse.costs).toEqual(results.duckdb!.costs);
    const db = results.duckdb!.costs.costs[0]!;
    expect(db.parts.find((p) => p.tenant === 'initech')).toEqual({ tenant: 'initech', amount: '50.00', basis: 'dedicated', usage: expect.any(String) });
  }, 180_000);
});
