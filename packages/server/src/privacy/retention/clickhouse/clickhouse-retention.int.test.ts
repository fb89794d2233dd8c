import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe } from 'vitest';
import { ClickHouseStore } from '../../../store/clickhouse/clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from '../../../store/clickhouse/testing.ts';
import { runRetentionContract } from '../contract.ts';
import { ClickHouseRetention } from './clickhouse-retention.ts';

const URL = process.env.TALLY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', new globalThis.URL(URL).hostname, Number(new globalThis.URL(URL).port || 8123));
const created: string[] = [];

afterAll(async () => {
  for (const db of created) await dropDatabase(URL, db);
});

describe.skipIf(!available)('ClickHouse retention', () => {
  runRetentionContract('ClickHouse', async (derive, nowMicros) => {
    const database = uniqueDatabase('retention');
    created.push(database);
    const store = await ClickHouseStore.open({ url: URL, database, derive, nowMicros });
    return {
      store,
      retention: new ClickHouseRetention(store, database),
      reopen: async () => {
        await store.close();
        return ClickHouseStore.open({ url: URL, database, derive, nowMicros });
      },
    };
  });
});
