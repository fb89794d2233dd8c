import { createClient } from '@clickhouse/client';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { ClickHouseStore } from './clickhouse-store.ts';
import { dropDatabase, uniqueDatabase } from './testing.ts';

const URL = process.env.TALLY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', new globalThis.URL(URL).hostname, Number(new globalThis.URL(URL).port || 8123));
const database = uniqueDatabase('keys');

afterAll(async () => {
  if (available) await dropDatabase(URL, database);
});

describe.skipIf(!available)('ClickHouse api_keys upgrade', () => {
  it('adds the expiry, allowed-meters and last-used columns to an api_keys table written before them', async () => {
    const c = createClient({ url: URL });
    try {
      await c.command({ query: `CREATE DATABASE ${database}` });
      // The api_keys layout of databases created before portal keys.
      await c.command({ query: `CREATE TABLE ${database}.api_keys (id String, name String, hash String, scopes String, tenant Nullable(String), created_us Int64, revoked_us Nullable(Int64), ver Int64) ENGINE = ReplacingMergeTree(ver) ORDER BY id` });
      await c.command({ query: `INSERT INTO ${database}.api_keys VALUES ('key_old', 'old', 'h', 'admin', NULL, 1, NULL, 0)` });
    } finally {
      await c.close();
    }
    const store = await ClickHouseStore.open({ url: URL, database, derive: () => ({ rollups: [], uniques: [], skipped: 0 }) });
    try {
      expect(await store.listKeys()).toEqual([{ id: 'key_old', name: 'old', hash: 'h', scopes: ['admin'], tenant: null, createdAt: 1, revokedAt: null, expiresAt: null, allowedMeters: null, lastUsedAt: null }]);
      await store.putKey({ id: 'key_new', name: 'portal', hash: 'h2', scopes: ['read'], tenant: 'acme', createdAt: 2, revokedAt: null, expiresAt: 99, allowedMeters: ['calls'] });
      expect(await store.revokeKey('key_new', 5)).toBe(true);
      expect((await store.listKeys())[1]).toMatchObject({ id: 'key_new', expiresAt: 99, allowedMeters: ['calls'], revokedAt: 5 });
    } finally {
      await store.close();
    }
  });
});
