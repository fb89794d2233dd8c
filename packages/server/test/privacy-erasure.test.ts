import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/audit/archive/manifest.ts';
import { verifyArchive } from '../src/audit/archive/verify.ts';
import type { MeterDefinition } from '../src/meters/meter.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, type Clock } from '../src/shared/time.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';

/**
 * #18 point 2: erasure of one end user. Events of alice are stored under an old secret (day 1,
 * archived) and, after a rotation, under the new one (day 2). After the erasure neither hash is in
 * any byte of any file under the data directory (DuckDB file and WAL, archive Parquet and
 * manifests), counts and sums are unchanged, and UNIQUE_COUNT per day is one less.
 */
const OLD = 'old-secret-0123456789abcdef';
const NEW = 'new-secret-0123456789abcdef';
const hmac = (secret: string, id: string) => createHmac('sha256', Buffer.from(secret, 'utf8')).update(id, 'utf8').digest('hex');
const DAY1 = Date.UTC(2026, 10, 2) * 1000;
const DAY2 = DAY1 + MICROS_PER_DAY;
let now = DAY1 + 12 * MICROS_PER_HOUR;
const clock: Clock = { nowMicros: () => now };
const dir = mkdtempSync(join(tmpdir(), 'tally-erasure-'));
const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} },
  { slug: 'tokens', eventType: 'call', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: {} },
  { slug: 'users', eventType: 'call', aggregation: 'UNIQUE_COUNT', valueProperty: '$actor', groupBy: {} },
];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const start = async (secret: string, previous: string[]) => {
  const s = await startTestServer({ clock, dataDir: dir, meters: METERS, config: { security: { actorHashSecret: secret, previousActorHashSecrets: previous } } });
  servers.push(s);
  return s;
};
const send = async (s: TestServer, day: number, tag: string) => {
  const actors = ['alice', 'bob', 'carol', 'alice', 'bob', 'alice'];
  const events = actors.map((actor, i) => ({ specversion: '1.0', id: `${tag}-${i}`, source: 'test', type: 'call', subject: 'acme', time: new Date((day + (i + 1) * 60_000_000) / 1000).toISOString(), actor, data: { tokens: `${i + 1}.25` } }));
  const r = await s.request('POST', '/v1/events', events);
  expect(r.body.accepted).toBe(actors.length);
};
const byDay = async (s: TestServer, meter: string) => {
  const r = await s.request('GET', `/v1/meters/${meter}/query?from=${new Date(DAY1 / 1000).toISOString()}&to=${new Date((DAY2 + MICROS_PER_DAY) / 1000).toISOString()}&windowSize=DAY`);
  expect(r.status).toBe(200);
  return (r.body.data as { value: string }[]).map((d) => d.value);
};
/** Every file under the data directory whose bytes hold `needle` (hex text, as stored). */
const filesHolding = (needle: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) out.push(p.slice(dir.length + 1));
    }
  };
  walk(dir);
  return out;
};
const parquetActors = async (file: string) => {
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  const rows = (await conn.runAndReadAll(`SELECT actor FROM read_parquet('${file}') ORDER BY ingested_us, tenant, id`)).getRows().map((r) => r[0] as string | null);
  conn.closeSync();
  duck.closeSync();
  return rows;
};

describe('erasure (embedded)', () => {
  it('removes the actor hashed with the current and the previous secret from raw events, facts and the archive; totals stay; UNIQUE_COUNT drops by one', async () => {
    const hOld = hmac(OLD, 'alice');
    const hNew = hmac(NEW, 'alice');
    let s = await start(OLD, []);
    await send(s, DAY1, 'd1');
    now = DAY2 + MICROS_PER_HOUR;
    expect((await s.request('POST', '/v1/jobs/archive/run', { range: '2026-11-02' })).body.run.status).toBe('succeeded');
    await s.close();
    servers.pop();
    // Rotation: new events are hashed with NEW; OLD is kept as a previous secret for erasure.
    s = await start(NEW, [OLD]);
    await send(s, DAY2, 'd2');
    const archived = join(dir, 'archive', 'date=2026-11-02', 'events.parquet');
    expect((await parquetActors(archived)).filter((a) => a === hOld)).toHaveLength(3);

    const before = { calls: await byDay(s, 'calls'), tokens: await byDay(s, 'tokens'), users: await byDay(s, 'users') };
    expect(before).toEqual({ calls: ['6', '6'], tokens: ['22.5', '22.5'], users: ['3', '3'] });
    // Control: the grep finds the hashes while they are stored: the old one in the DuckDB file
    // (checkpointed at the first close) and in the archive, the new one in the WAL. Without the
    // scrub (checkpoint, free blocks overwritten) the old bytes stay in both DuckDB files.
    expect(filesHolding(hOld)).toEqual(expect.arrayContaining(['tally.duckdb', 'archive/date=2026-11-02/events.parquet']));
    expect(filesHolding(hNew)).toEqual(expect.arrayContaining(['tally.duckdb.wal']));
    const shaBefore = readManifest(join(dir, 'archive'), '2026-11-02')!.files[0]!.sha256;

    const created = await s.request('POST', '/v1/erasures', { actor: 'alice' });
    expect(created.status).toBe(202);
    expect(created.text).not.toContain(hNew);
    let got = created.body;
    for (let i = 0; i < 600 && got.status === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      got = (await s.request('GET', `/v1/erasures/${created.body.id}`)).body;
    }
    expect(got).toMatchObject({ status: 'done', error: null, rows: { events: 6, archiveRows: 3, archivePartitions: 1 } });
    expect(got.rows.uniqueFacts).toBeGreaterThanOrEqual(2);
    expect(got.completedAt).not.toBeNull();

    expect({ calls: await byDay(s, 'calls'), tokens: await byDay(s, 'tokens'), users: await byDay(s, 'users') }).toEqual({ ...before, users: ['2', '2'] });
    // The archive: the rows are all there, alice's actor is gone, the manifest records the rewrite, verify passes.
    const actors = await parquetActors(archived);
    expect(actors).toHaveLength(6);
    expect(actors.filter((a) => a === null)).toHaveLength(3);
    expect(actors).not.toContain(hOld);
    const m = readManifest(join(dir, 'archive'), '2026-11-02') as unknown as { rewrites: { reason: string; erasure: string; rows: number; previousSha256: string }[] };
    expect(m.rewrites).toEqual([expect.objectContaining({ reason: 'erasure', erasure: created.body.id, file: 'events.parquet', rows: 3, previousSha256: shaBefore })]);
    expect((await verifyArchive(join(dir, 'archive'))).flatMap((c) => c.problems)).toEqual([]);

    // The job run that did it is recorded with the rows it changed.
    const [run] = (await s.request('GET', '/v1/jobs?job=erasure')).body.runs;
    expect(run).toMatchObject({ key: `erasure:${created.body.id}`, status: 'succeeded', output: { events: 6, archiveRows: 3 } });
    // No file under the data directory holds either hash: not while running, not after close.
    expect({ old: filesHolding(hOld), new: filesHolding(hNew) }).toEqual({ old: [], new: [] });
    // The access log kept no raw id.
    expect(filesHolding('"alice"')).toEqual([]);
    await s.close();
    servers.pop();
    expect({ old: filesHolding(hOld), new: filesHolding(hNew) }).toEqual({ old: [], new: [] });
  });

  it('an erasure a crash left pending is carried out at the next start (the job runner re-runs it)', async () => {
    const crashDir = mkdtempSync(join(tmpdir(), 'tally-erasure-crash-'));
    try {
      const open = () => startTestServer({ clock, dataDir: crashDir, meters: METERS, config: { security: { actorHashSecret: NEW } } });
      let s = await open();
      await send(s, DAY2, 'c');
      expect(await byDay(s, 'users')).toEqual(['3']);
      await s.close();
      // What POST /v1/erasures records before its job runs; the process "crashed" right after.
      const duck = await DuckDBInstance.create(join(crashDir, 'tally.duckdb'));
      const conn = await duck.connect();
      await conn.run(`INSERT INTO erasures VALUES ('era_crashed', 'key_test', ${DAY2}, 'pending', '${JSON.stringify([hmac(NEW, 'bob')])}', NULL, NULL, NULL)`);
      conn.closeSync();
      duck.closeSync();
      s = await open();
      let got = (await s.request('GET', '/v1/erasures/era_crashed')).body;
      for (let i = 0; i < 600 && got.status === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        got = (await s.request('GET', '/v1/erasures/era_crashed')).body;
      }
      expect(got).toMatchObject({ status: 'done', rows: { events: 2, archiveRows: 0, archivePartitions: 0 } });
      expect(await byDay(s, 'users')).toEqual(['2']);
      expect(await byDay(s, 'calls')).toEqual(['6']);
      expect((await s.request('GET', '/v1/erasures/era_nope')).status).toBe(404);
      await s.close();
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }
  });
});
