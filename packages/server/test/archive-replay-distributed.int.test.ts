import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { writePartition } from '../src/audit/archive/archive-writer.ts';
import { ClickHouseArchiveSource } from '../src/audit/archive/clickhouse-source.ts';
import { replayIntoStore } from '../src/audit/archive/replay-store.ts';
import { verifyArchive } from '../src/audit/archive/verify.ts';
import { askHttp, DEMO_METERS, demoEvents, diffAnswers, everyAnswer } from './audit-helpers.ts';
import { createDatabase, dropDatabase } from '../src/store/clickhouse/testing.ts';
import { CH_URL, Deployment, KEY, eventually, freePort, lagOf, sendWithRetry } from './distributed-helpers.ts';

/**
 * #16 on the distributed profile: a month of demo data (and corrections) through JetStream and a
 * worker into ClickHouse, archived from ClickHouse with an embedded DuckDB, verified, and replayed
 * into a fresh embedded store, and with `tally replay --into-clickhouse` into a fresh ClickHouse
 * database, whose answers equal the original's for every meter.
 */
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('archive and replay (distributed)', () => {
  const d = new Deployment(2, 5, CH_URL, 5000, DEMO_METERS);
  const dir = mkdtempSync(join(tmpdir(), 'tally-archive-dist-'));
  afterAll(async () => {
    await d.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('archives ClickHouse raw rows per ingest day; the replayed month answers every meter identically', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await d.api(Number(new URL(url).port));
    d.worker(0, 1);
    const DAY = 86_400_000;
    const toMs = Math.floor(Date.now() / DAY) * DAY;
    const fromMs = toMs - 29 * DAY;
    const events = demoEvents(4000, fromMs, toMs, 11);
    for (let i = 0; i < events.length; i += 1000) await sendWithRetry([url], 0, events.slice(i, i + 1000));
    const stored = async () => Number((await d.clickhouse('SELECT count() FROM events'))[0]![0]);
    await eventually('all events in ClickHouse', async () => (await lagOf(url)) === 0 && (await stored()) === 4000);
    const post = async (path: string, body: unknown) => (await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    const v = events[123]!;
    expect(await post(`/v1/events/${String(v.subject)}/${String(v.id)}/void`, { reason: 'test' })).toBe(201);
    const a = events[2345]!;
    expect(await post(`/v1/events/${String(a.subject)}/${String(a.id)}/amend`, { reason: 'fix', event: { ...a, id: `${String(a.id)}-r` } })).toBe(201);
    await eventually('corrections in ClickHouse', async () => (await lagOf(url)) === 0 && (await stored()) === 4003);

    // Every row was committed since yesterday (ingest time): archive both days as if they had closed.
    const days = [toMs - DAY, toMs].map((t) => new Date(t).toISOString().slice(0, 10));
    const source = await ClickHouseArchiveSource.open(CH_URL, d.database);
    try {
      const rows = { events: 0, corrections: 0 };
      for (const day of days) {
        const { manifest } = await writePartition(source, join(dir, 'archive'), day, (toMs + 2 * DAY) * 1000);
        expect(manifest.source).toBe('clickhouse');
        for (const f of manifest.files) rows[f.kind] += f.rows;
      }
      expect(rows).toEqual({ events: 4001, corrections: 2 });
    } finally {
      await source.close();
    }
    expect((await verifyArchive(join(dir, 'archive'))).flatMap((c) => c.problems)).toEqual([]);

    const r = await replayIntoStore(join(dir, 'archive'), fromMs * 1000, toMs * 1000, join(dir, 'replayed'), DEMO_METERS);
    try {
      expect(r.rows).toBe(4003);
      const original = await everyAnswer(askHttp(url, KEY), DEMO_METERS, fromMs * 1000, toMs * 1000);
      const replayed = await everyAnswer(async (q) => (await r.queries.query(q)).data, DEMO_METERS, fromMs * 1000, toMs * 1000);
      expect([...original.values()].every((rows) => rows.length > 0)).toBe(true);
      expect(diffAnswers(original, replayed)).toEqual([]);
    } finally {
      await r.close();
    }

    // The CLI, into a fresh ClickHouse database (the distributed profile's store).
    const database = await createDatabase(CH_URL, 'replay_cli');
    try {
      const from = new Date(fromMs).toISOString();
      const to = new Date(toMs).toISOString();
      const cli = await promisify(execFile)(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'replay', '--from', from, '--to', to, '--dir', join(dir, 'archive'), '--into-clickhouse', database, '--config', d.configFile, '--json'], { env: { ...process.env, TALLY_CONFIG: '' } });
      expect(JSON.parse(cli.stdout)).toMatchObject({ rows: 4003, stored: 4003, into: { clickhouseUrl: CH_URL, database } });
      const intoCh = await replayIntoStore(join(dir, 'archive'), fromMs * 1000, toMs * 1000, { clickhouseUrl: CH_URL, database }, DEMO_METERS);
      try {
        expect(intoCh.accepted).toBe(0); // already there: the CLI stored it all
        const original = await everyAnswer(askHttp(url, KEY), DEMO_METERS, fromMs * 1000, toMs * 1000);
        const replayed = await everyAnswer(async (q) => (await intoCh.queries.query(q)).data, DEMO_METERS, fromMs * 1000, toMs * 1000);
        expect(diffAnswers(original, replayed)).toEqual([]);
      } finally {
        await intoCh.close();
      }
    } finally {
      await dropDatabase(CH_URL, database);
    }
  }, 400_000);
});
