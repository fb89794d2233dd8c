import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { createDatabase, dropDatabase } from '../store/clickhouse/testing.ts';
import { ClickHouseAlertStore } from './clickhouse/clickhouse-alert-store.ts';
import { runAlertStoreContract } from './store-contract.ts';

const URL = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const databases: string[] = [];
afterAll(async () => {
  for (const d of databases) await dropDatabase(URL, d);
});

describe.skipIf(!available)('alerts store on ClickHouse', () => {
  runAlertStoreContract('ClickHouse', async () => {
    const database = await createDatabase(URL, 'alerts');
    databases.push(database);
    return ClickHouseAlertStore.open({ url: URL, database });
  });
});
