import { serviceAvailable } from '@tally/testkit';
import { createClient } from '@clickhouse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { runStoreContract } from '../contract.ts';
import { ClickHouseStore } from './clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from './testing.ts';

const URL = process.env.TALLY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', new globalThis.URL(URL).hostname, Number(new globalThis.URL(URL).port || 8123));
const created: string[] = [];

afterAll(async () => {
  for (const db of created) await dropDatabase(URL, db);
});

// The same contract suite as DuckDB; a "path" is a database, so reopening sees the same data.
describe.skipIf(!available)('ClickHouse store', () => {
  runStoreContract('ClickHouse', async (derive, path) => {
    const database = path ?? uniqueDatabase('contract');
    if (!path) created.push(database);
    return { store: await ClickHouseStore.open({ url: URL, database, derive }), path: database };
  });
});

describe.skipIf(!available)('ClickHouse store schema', () => {
  it('refuses a database with the per-dimension rollup columns of earlier versions', async () => {
    const database = uniqueDatabase('legacy');
    created.push(database);
    const c = createClient({ url: URL });
    try {
      await c.command({ query: `CREATE DATABASE ${database}` });
      await c.command({ query: `CREATE TABLE ${database}.rollups (meter String, d1 Nullable(String)) ENGINE = MergeTree ORDER BY meter` });
    } finally {
      await c.close();
    }
    await expect(ClickHouseStore.open({ url: URL, database, derive: () => ({ rollups: [], uniques: [], skipped: 0 }) })).rejects.toThrow(/earlier Tally/);
  });
});
