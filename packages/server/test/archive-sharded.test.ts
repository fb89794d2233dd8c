import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/audit/archive/manifest.ts';
import { tenantBucket } from '../src/audit/archive/parquet.ts';
import { filesFor } from '../src/audit/archive/replay.ts';
import { replayIntoStore } from '../src/audit/archive/replay-store.ts';
import { verifyArchive } from '../src/audit/archive/verify.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { askHttp, DEMO_METERS, demoEvents, diffAnswers, everyAnswer } from './audit-helpers.ts';
import { fixedClock } from './helpers.ts';

/**
 * #16 tenant-sharded archive (embedded): `audit.archiveTenantBuckets: 4` writes each kind of a
 * day as 4 files by tenant bucket; each file holds only its bucket's tenants; verify passes;
 * one tenant's replay reads only its bucket's files (another bucket's file tampered does not
 * stop it, while the whole replay is refused) and answers exactly as the server does for it.
 */
const clock = fixedClock('2026-05-01T10:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'tally-archive-sharded-'));
const archiveDir = join(dir, 'archive');
const FROM = Date.parse('2026-04-25T00:00:00Z') * 1000;
const TO = Date.parse('2026-05-01T00:00:00Z') * 1000;
const DAY = '2026-05-01';
let s: TestServer;
let events: Record<string, unknown>[];

beforeAll(async () => {
  s = await startTestServer({ meters: DEMO_METERS, clock, config: { audit: { archiveDir, archiveTenantBuckets: 4 } } });
  events = demoEvents(3000, FROM / 1000, TO / 1000, 5, 12);
  for (let i = 0; i < events.length; i += 1000) expect((await s.request('POST', '/v1/events', events.slice(i, i + 1000))).body.accepted).toBe(1000);
  expect((await s.request('POST', `/v1/events/${String(events[9]!.subject)}/${String(events[9]!.id)}/void`, { reason: 'test' })).status).toBe(201);
  clock.set('2026-05-02T00:20:00Z');
  expect((await s.request('POST', '/v1/jobs/archive/run', { range: DAY })).body.run.status).toBe('succeeded');
}, 120_000);
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tenant-sharded archive (embedded)', () => {
  it('writes one file per kind and tenant bucket, each holding only its bucket, and verifies', async () => {
    const m = readManifest(archiveDir, DAY)!;
    expect(m.tenantBuckets).toBe(4);
    expect(m.files.map((f) => [f.file, f.kind, f.bucket])).toEqual([0, 1, 2, 3].map((b) => [`events-b00${b}.parquet`, 'events', b]).concat([0, 1, 2, 3].map((b) => [`corrections-b00${b}.parquet`, 'corrections', b])));
    expect(m.rows).toBe(3001);
    expect(m.files.filter((f) => f.kind === 'corrections').reduce((n, f) => n + f.rows, 0)).toBe(1);
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    try {
      for (const f of m.files.filter((x) => x.kind === 'events')) {
        const tenants = (await conn.runAndReadAll(`SELECT DISTINCT tenant FROM read_parquet('${join(archiveDir, `date=${DAY}`, f.file)}')`)).getRows().map((r) => r[0] as string);
        expect(tenants.every((t) => tenantBucket(t, 4) === f.bucket)).toBe(true);
      }
    } finally {
      conn.closeSync();
      duck.closeSync();
    }
    // Several buckets are used by the 12 tenants.
    expect(m.files.filter((f) => f.kind === 'events' && f.rows > 0).length).toBeGreaterThan(1);
    expect((await verifyArchive(archiveDir)).flatMap((c) => c.problems)).toEqual([]);
  });

  it("one tenant's replay reads only its bucket's files and answers exactly as the server", async () => {
    const tenant = String(events[9]!.subject); // the one with a voided event
    const bucket = tenantBucket(tenant, 4);
    const mine = filesFor(archiveDir, FROM, TO, tenant);
    expect(mine.map((f) => f.split('/').pop())).toEqual([`events-b00${bucket}.parquet`, `corrections-b00${bucket}.parquet`]);
    // Another bucket's events file tampered: this tenant's replay does not read it.
    const other = (bucket + 1) % 4;
    writeFileSync(join(archiveDir, `date=${DAY}`, `events-b00${other}.parquet`), 'tampered');
    const r = await replayIntoStore(archiveDir, FROM, TO, join(dir, 'tenant'), DEMO_METERS, { clock, tenant });
    try {
      const expected = events.filter((e) => e.subject === tenant).length + 1; // + its correction
      expect([r.rows, r.accepted]).toEqual([expected, expected]);
      const only = (a: Map<string, { tenant: string | null }[]>) => new Map([...a].map(([k, rows]) => [k, rows.filter((x) => x.tenant === tenant)]));
      const original = only(await everyAnswer(askHttp(s.url, s.adminToken), DEMO_METERS, FROM, TO));
      const replayed = await everyAnswer(async (q) => (await r.queries.query(q)).data, DEMO_METERS, FROM, TO);
      expect([...original.values()].some((rows) => rows.length > 0)).toBe(true);
      expect(diffAnswers(original as never, replayed)).toEqual([]);
    } finally {
      await r.close();
    }
    // A tenant of the tampered bucket, and the whole archive, are refused.
    const victim = [...new Set(events.map((e) => String(e.subject)))].find((t) => tenantBucket(t, 4) === other);
    expect(victim).toBeDefined();
    await expect(replayIntoStore(archiveDir, FROM, TO, join(dir, 'victim'), DEMO_METERS, { tenant: victim! })).rejects.toThrow(/fails verification.*events-b00\d\.parquet sha256 differs/);
    await expect(replayIntoStore(archiveDir, FROM, TO, join(dir, 'all'), DEMO_METERS)).rejects.toThrow(/fails verification/);
    expect((await verifyArchive(archiveDir)).flatMap((c) => c.problems.map((p) => `${p.file} ${p.problem}`))).toEqual([`events-b00${other}.parquet sha256 differs`, `events-b00${other}.parquet unreadable`]);
  }, 120_000);
});
