import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { createDatabase, dropDatabase } from '../../store/clickhouse/testing.ts';
import { ClickHouseAccessLogRepo } from './clickhouse-repo.ts';
import { runAccessLogRepoContract } from './repo-contract.ts';

const CH = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const created: string[] = [];
afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
});

describe.skipIf(!available)('access log on ClickHouse', () => {
  runAccessLogRepoContract('ClickHouse', async () => {
    const database = await createDatabase(CH, 'access');
    created.push(database);
    return ClickHouseAccessLogRepo.open({ url: CH, database });
  });
});
