import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '../contract.ts';
import { DuckDbStore } from './duckdb-store.ts';

runStoreContract('DuckDB', async (derive, path) => {
  const p = path ?? join(mkdtempSync(join(tmpdir(), 'tally-duck-')), 'test.duckdb');
  return { store: await DuckDbStore.open({ path: p, derive }), path: p };
});
