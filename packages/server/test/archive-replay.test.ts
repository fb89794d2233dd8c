import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/audit/archive/manifest.ts';
import { replayIntoStore } from '../src/audit/archive/replay-store.ts';
import { verifyArchive } from '../src/audit/archive/verify.ts';
import { createDatabase, dropDatabase } from '../src/store/clickhouse/testing.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { askHttp, DEMO_METERS, demoEvents, diffAnswers, everyAnswer } from './audit-helpers.ts';
import { fixedClock } from './helpers.ts';

/**
 * #16 on the embedded profile: a month of demo data ingested over three days (plus voids and an
 * amend), archived per ingest day by the archive job, verified, and replayed into a fresh store
 * that answers every meter's queries exactly as the original does.
 */
const clock = fixedClock('2026-05-01T10:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'tally-archive-'));
const archiveDir = join(dir, 'archive');
const FROM = Date.parse('2026-04-01T00:00:00Z') * 1000;
const TO = Date.parse('2026-05-01T00:00:00Z') * 1000;
const DAYS = ['2026-05-01', '2026-05-02', '2026-05-03'];
let s: TestServer;
const clickhouse = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
let total = 0;

beforeAll(async () => {
  s = await startTestServer({ meters: DEMO_METERS, clock, config: { audit: { archiveDir } } });
  const events = demoEvents(6000, FROM / 1000, TO / 1000);
  for (const [k, day] of DAYS.entries()) {
    clock.set(`${day}T10:00:00Z`);
    const part = events.filter((_, i) => i % 3 === k);
    for (let i = 0; i < part.length; i += 1000) total += (await s.request('POST', '/v1/events', part.slice(i, i + 1000))).body.accepted as number;
  }
  // Corrections on the last day: two voids and an amend (a replacement event, too).
  for (const e of [events[10]!, events[2000]!]) expect((await s.request('POST', `/v1/events/${String(e.subject)}/${String(e.id)}/void`, { reason: 'test' })).status).toBe(201);
  const a = events[4000]!;
  expect((await s.request('POST', `/v1/events/${String(a.subject)}/${String(a.id)}/amend`, { reason: 'fix', event: { ...a, id: `${String(a.id)}-r`, data: { ...(a.data as object), status: 500 } } })).status).toBe(201);
  total += 4;
  clock.set('2026-05-04T01:00:00Z');
}, 120_000);
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('archive and replay (embedded)', () => {
  it('the archive job writes each closed ingest day once: Parquet files with manifests that verify', async () => {
    const early = await s.request('POST', '/v1/jobs/archive/run', { range: '2026-05-04' });
    expect(early.body.run).toMatchObject({ status: 'failed', error: expect.stringContaining('not closed') });
    let rows = 0;
    for (const day of DAYS) {
      const r = await s.request('POST', '/v1/jobs/archive/run', { range: day });
      expect(r.body.run).toMatchObject({ status: 'succeeded', output: { day, written: true } });
      rows += r.body.run.output.rows as number;
      expect(readManifest(archiveDir, day)!.files.map((f) => f.file)).toEqual(['events.parquet', 'corrections.parquet']);
    }
    expect(rows).toBe(total);
    expect(readManifest(archiveDir, '2026-05-03')!.files.find((f) => f.kind === 'corrections')!.rows).toBe(3);
    const checks = await verifyArchive(archiveDir);
    expect(checks.map((c) => [c.date, c.rows, c.problems])).toEqual(DAYS.map((d) => [d, readManifest(archiveDir, d)!.rows, []]));
    expect(checks.reduce((n, c) => n + c.rows, 0)).toBe(total);
    // The voided originals are in the archive, beside their corrections.
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    const voided = ((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet('${archiveDir}/*/events.parquet') WHERE id IN (SELECT json_extract_string(data, '$.target.id') FROM read_parquet('${archiveDir}/*/corrections.parquet'))`)).getRows() as bigint[][])[0]![0];
    conn.closeSync();
    duck.closeSync();
    expect(voided).toBe(3n);
  });

  it('a month replayed from the archive into a fresh store answers every meter identically', async () => {
    const into = join(dir, 'replayed');
    const r = await replayIntoStore(archiveDir, FROM, TO, into, DEMO_METERS, { clock });
    try {
      expect(r.rows).toBe(total);
      expect(r.accepted).toBe(total);
      const original = await everyAnswer(askHttp(s.url, s.adminToken), DEMO_METERS, FROM, TO);
      const replayed = await everyAnswer(async (q) => (await r.queries.query(q)).data, DEMO_METERS, FROM, TO);
      expect([...original.values()].every((rows) => rows.length > 0)).toBe(true);
      expect(diffAnswers(original, replayed)).toEqual([]);
    } finally {
      await r.close();
    }
  }, 120_000);

  it.skipIf(!clickhouse)('the same month replayed into a fresh ClickHouse database answers identically too', async () => {
    const CH = 'http://127.0.0.1:8123';
    const database = await createDatabase(CH, 'replay');
    try {
      const r = await replayIntoStore(archiveDir, FROM, TO, { clickhouseUrl: CH, database }, DEMO_METERS, { clock });
      try {
        expect(r.store.engine).toBe('clickhouse');
        expect([r.rows, r.accepted]).toEqual([total, total]);
        const original = await everyAnswer(askHttp(s.url, s.adminToken), DEMO_METERS, FROM, TO);
        const replayed = await everyAnswer(async (q) => (await r.queries.query(q)).data, DEMO_METERS, FROM, TO);
        expect(diffAnswers(original, replayed)).toEqual([]);
      } finally {
        await r.close();
      }
      // A second replay into the same database stores nothing new (the store's dedupe).
      const again = await replayIntoStore(archiveDir, FROM, TO, { clickhouseUrl: CH, database }, DEMO_METERS, { clock });
      await again.close();
      expect([again.rows, again.accepted]).toEqual([total, 0]);
    } finally {
      await dropDatabase(CH, database);
    }
  }, 180_000);

  it('verify finds a changed file, a removed file and an extra file, naming the expected and actual values', async () => {
    const m = readManifest(archiveDir, '2026-05-02')!;
    writeFileSync(join(archiveDir, 'date=2026-05-02', 'events.parquet'), 'tampered');
    rmSync(join(archiveDir, 'date=2026-05-03', 'corrections.parquet'));
    writeFileSync(join(archiveDir, 'date=2026-05-01', 'stray.parquet'), 'x');
    const problems = (await verifyArchive(archiveDir)).flatMap((c) => c.problems.map((p) => [p.date, p.file, p.problem, p.expected]));
    expect(problems).toEqual([
      ['2026-05-01', 'stray.parquet', 'file not in manifest', undefined],
      ['2026-05-02', 'events.parquet', 'sha256 differs', m.files[0]!.sha256],
      ['2026-05-02', 'events.parquet', 'unreadable', undefined],
      ['2026-05-03', 'corrections.parquet', 'file missing', 3],
    ]);
    await expect(replayIntoStore(archiveDir, FROM, TO, join(dir, 'replayed-2'), DEMO_METERS)).rejects.toThrow(/fails verification/);
  });
});
