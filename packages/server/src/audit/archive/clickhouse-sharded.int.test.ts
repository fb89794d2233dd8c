import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../events/event.ts';
import { ClickHouseStore } from '../../store/clickhouse/clickhouse-store.ts';
import { createDatabase, dropDatabase } from '../../store/clickhouse/testing.ts';
import { writePartition } from './archive-writer.ts';
import { ClickHouseArchiveSource } from './clickhouse-source.ts';
import { tenantBucket } from './parquet.ts';
import { filesFor, readArchive } from './replay.ts';
import { verifyArchive } from './verify.ts';

/** The tenant-sharded archive written from ClickHouse (the distributed profile's source): one staged read per kind, one file per bucket. */
const URL = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const dir = mkdtempSync(join(tmpdir(), 'tally-ch-sharded-'));
const databases: string[] = [];
afterAll(async () => {
  for (const d of databases) await dropDatabase(URL, d);
  rmSync(dir, { recursive: true, force: true });
});

const DAY = '2026-05-01';
const T = Date.parse(`${DAY}T10:00:00Z`) * 1000;
const ev = (tenant: string, i: number): EventRecord => ({ tenant, id: `${tenant}-${i}`, type: 'call', source: 'test', time: T + i, actor: null, data: { i }, dataJson: `{"i":${i}}`, contentHash: `h-${tenant}-${i}` });

describe.skipIf(!available)('tenant-sharded archive from ClickHouse', () => {
  it('writes each bucket with only its tenants; a tenant reads only its files', async () => {
    const database = await createDatabase(URL, 'archive_sharded');
    databases.push(database);
    const store = await ClickHouseStore.open({ url: URL, database, derive: () => ({ rollups: [], uniques: [] }) as never, nowMicros: () => T });
    const tenants = Array.from({ length: 10 }, (_, k) => `tenant-${k}`);
    try {
      expect((await store.append(tenants.flatMap((t, k) => Array.from({ length: k + 1 }, (_, i) => ev(t, i))))).every((o) => o.status === 'accepted')).toBe(true);
    } finally {
      await store.close();
    }
    const source = await ClickHouseArchiveSource.open(URL, database);
    try {
      const { manifest } = await writePartition(source, join(dir, 'archive'), DAY, T + 2 * 86_400_000_000, async () => {}, 3);
      expect(manifest.tenantBuckets).toBe(3);
      expect(manifest.files.map((f) => f.file)).toEqual(['events-b000.parquet', 'events-b001.parquet', 'events-b002.parquet', 'corrections-b000.parquet', 'corrections-b001.parquet', 'corrections-b002.parquet']);
      const expected = [0, 1, 2].map((b) => tenants.reduce((n, t, k) => n + (tenantBucket(t, 3) === b ? k + 1 : 0), 0));
      expect(manifest.files.slice(0, 3).map((f) => f.rows)).toEqual(expected);
      expect(manifest.rows).toBe(55);
    } finally {
      await source.close();
    }
    expect((await verifyArchive(join(dir, 'archive'))).flatMap((c) => c.problems)).toEqual([]);
    const t7 = 'tenant-7';
    expect(filesFor(join(dir, 'archive'), T, T + 1000, t7).map((f) => f.split('/').pop())).toEqual([`events-b00${tenantBucket(t7, 3)}.parquet`]);
    const rows: EventRecord[] = [];
    for await (const page of readArchive(join(dir, 'archive'), T, T + 1000, 10_000, t7)) rows.push(...page);
    expect(rows.map((e) => e.id)).toEqual(Array.from({ length: 8 }, (_, i) => `tenant-7-${i}`));
  });
});
