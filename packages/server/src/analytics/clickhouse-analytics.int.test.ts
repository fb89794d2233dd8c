import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from '../store/clickhouse/testing.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { ClickHouseAnalytics } from './clickhouse/clickhouse-analytics.ts';
import { runAnalyticsContract } from './contract.ts';

const CH = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const created: string[] = [];
afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
});

describe.skipIf(!available)('analytics on ClickHouse', () => {
  runAnalyticsContract(
    'ClickHouse',
    async (registry) => {
      const database = uniqueDatabase('analytics');
      created.push(database);
      const store = await ClickHouseStore.open({ url: CH, database, derive: (e) => deriveRollups(e, (t) => registry.forType(t)) });
      return { store, analytics: await ClickHouseAnalytics.open({ url: CH, database }) };
    },
    20,
  );
});
