import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from '../store/clickhouse/testing.ts';
import { runRuntimePlansContract } from './runtime-plans-contract.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';

const CH = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const created: string[] = [];
afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
});

describe.skipIf(!available)('runtime plan changes on ClickHouse', () => {
  runRuntimePlansContract('ClickHouse', async () => {
    const database = uniqueDatabase('billing_plans');
    created.push(database);
    return ClickHouseStore.open({ url: CH, database, derive: (e) => deriveRollups(e, () => []) });
  });
});
