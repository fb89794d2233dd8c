import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from '../store/clickhouse/testing.ts';
import { deriveRollups } from './derive-rollups.ts';
import { runTimeWeightedContract } from './time-weighted-contract.ts';

const CH = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const created: string[] = [];
afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
});

describe.skipIf(!available)('TIME_WEIGHTED_SUM on ClickHouse', () => {
  runTimeWeightedContract(
    'ClickHouse',
    async (registry) => {
      const database = uniqueDatabase('twsum');
      created.push(database);
      return ClickHouseStore.open({ url: CH, database, derive: (e) => deriveRollups(e, (t) => registry.forType(t)) });
    },
    30,
  );
});
