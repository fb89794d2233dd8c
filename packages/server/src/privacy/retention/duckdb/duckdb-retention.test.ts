import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbStore } from '../../../store/duckdb/duckdb-store.ts';
import { runRetentionContract } from '../contract.ts';
import { DuckDbRetention } from './duckdb-retention.ts';

runRetentionContract('DuckDB', async (derive, nowMicros) => {
  const path = join(mkdtempSync(join(tmpdir(), 'tally-retention-')), 'test.duckdb');
  const store = await DuckDbStore.open({ path, derive, nowMicros });
  return {
    store,
    retention: new DuckDbRetention(store),
    reopen: async () => {
      await store.close();
      return DuckDbStore.open({ path, derive, nowMicros });
    },
  };
}, { perDay: 2048 });
