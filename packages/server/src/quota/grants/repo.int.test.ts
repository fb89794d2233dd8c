import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { createDatabase, dropDatabase } from '../../store/clickhouse/testing.ts';
import { ClickHouseGrantRepo } from './clickhouse-repo.ts';
import { runGrantRepoContract } from './repo-contract.ts';

const CH = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const created: string[] = [];
afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
});

describe.skipIf(!available)('grants on ClickHouse', () => {
  runGrantRepoContract('ClickHouse', async () => {
    const database = await createDatabase(CH, 'grants');
    created.push(database);
    return ClickHouseGrantRepo.open({ url: CH, database });
  });
});
