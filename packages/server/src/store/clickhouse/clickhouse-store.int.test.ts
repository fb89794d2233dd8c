import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
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
