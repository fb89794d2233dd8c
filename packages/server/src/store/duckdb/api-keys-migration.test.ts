import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect, it } from 'vitest';
import { DuckDbStore } from './duckdb-store.ts';

const noRollups = () => ({ rollups: [], uniques: [], skipped: 0 });

it('adds the expiry, allowed-meters and last-used columns to an api_keys table written before them', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tally-keys-')), 'old.duckdb');
  const instance = await DuckDBInstance.create(path);
  const c = await instance.connect();
  // The api_keys layout of stores created before portal keys.
  await c.run(`CREATE TABLE api_keys (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, hash VARCHAR NOT NULL, scopes VARCHAR NOT NULL, tenant VARCHAR, created_us BIGINT NOT NULL, revoked_us BIGINT)`);
  await c.run(`INSERT INTO api_keys VALUES ('key_old', 'old', 'h', 'admin', NULL, 1, NULL)`);
  c.closeSync();
  instance.closeSync();

  const store = await DuckDbStore.open({ path, derive: noRollups });
  try {
    expect(await store.listKeys()).toEqual([{ id: 'key_old', name: 'old', hash: 'h', scopes: ['admin'], tenant: null, createdAt: 1, revokedAt: null, expiresAt: null, allowedMeters: null, lastUsedAt: null }]);
    await store.putKey({ id: 'key_new', name: 'portal', hash: 'h2', scopes: ['read'], tenant: 'acme', createdAt: 2, revokedAt: null, expiresAt: 99, allowedMeters: ['calls'] });
    expect((await store.listKeys())[1]).toMatchObject({ id: 'key_new', expiresAt: 99, allowedMeters: ['calls'] });
  } finally {
    await store.close();
  }
});
