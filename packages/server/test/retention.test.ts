import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/** #18 retention through the API and the CLI: policy, preview, run, refusals, exactly-once. */
const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const TSX = import.meta.resolve('tsx');
async function tally(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', TSX, CLI, ...args], { env: { ...process.env, TALLY_URL: '', TALLY_KEY: '', TALLY_CONFIG: '' }, cwd: tmpdir() });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const clock = fixedClock('2026-05-06T12:00:00Z');
let s: TestServer;
const conn = () => ['--url', s.url, '--key', s.adminToken];
const day = (d: number, i: number) => ce(`e${d}-${i}`, i % 2 ? 'acme' : 'globex', `2026-05-0${d}T${String(i).padStart(2, '0')}:10:00Z`, { route: '/a', method: 'GET', status: 200, bytes: i, ms: 1 });
const events = [1, 2, 3, 4, 5].flatMap((d) => Array.from({ length: 20 }, (_, i) => day(d, i)));
const dayQuery = '/v1/meters/requests/query?from=2026-05-01T00:00:00Z&to=2026-05-06T00:00:00Z&windowSize=DAY';

beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock, config: { retention: { raw: 2, minute: 1, hour: 3, day: null, unique: 2, accessLog: 1 } } });
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(100);
});
afterAll(async () => {
  await s.close();
});

describe('retention from the API and the CLI', () => {
  it('shows the policy, previews, runs as a recorded job; old tiers are refused with RETENTION_EXCEEDED, day answers unchanged, old ids still duplicates', async () => {
    const before = await s.request('GET', dayQuery);
    expect(before.status).toBe(200);
    const show = await tally(['retention', 'show', '--json', ...conn()]);
    expect(show.code).toBe(0);
    const policy = JSON.parse(show.stdout) as { tiers: { tier: string; days: number | null; heldFrom: string | null }[]; ledgerDays: number };
    expect(policy.tiers.find((t) => t.tier === 'raw')).toEqual({ tier: 'raw', days: 2, cutoff: '2026-05-04T12:00:00.000Z', heldFrom: null });
    expect(policy.tiers.find((t) => t.tier === 'day')!.days).toBeNull();
    expect(policy.ledgerDays).toBe(37);

    const preview = await tally(['retention', 'run', '--dry-run', '--json', ...conn()]);
    expect(preview.code).toBe(0);
    const tiers = (JSON.parse(preview.stdout) as { preview: { tiers: { tier: string; rows: number; ledgered?: number }[] } }).preview.tiers;
    // Days 1…3 (60 events) end before 2026-05-04 00:00, the raw cutoff rounded down to a day.
    expect(tiers.find((t) => t.tier === 'raw')).toMatchObject({ rows: 60, ledgered: 0 });
    expect((await s.request('GET', '/v1/events?limit=1000')).body.data.length).toBe(100);

    const ran = await tally(['retention', 'run', ...conn()]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/retention:manual-.*: deleted/);
    expect((await s.request('GET', '/v1/events?limit=1000')).body.data.length).toBe(40);
    const jobs = await s.request('GET', '/v1/jobs?job=retention');
    expect(jobs.body.runs[0]).toMatchObject({ job: 'retention', status: 'succeeded' });

    expect((await s.request('GET', dayQuery)).body.data).toEqual(before.body.data);
    const minute = await s.request('GET', '/v1/meters/requests/query?from=2026-05-04T00:00:00Z&to=2026-05-04T01:00:00Z&windowSize=MINUTE');
    expect(minute.status).toBe(422);
    expect(minute.body.error).toMatchObject({ code: 'RETENTION_EXCEEDED', details: { tier: 'minute', heldFrom: '2026-05-05T00:00:00.000Z' } });
    const raw = await s.request('GET', '/v1/meters/latency_max/query?from=2026-05-02T00:00:30Z&to=2026-05-03T00:00:00Z');
    expect(raw.status).toBe(422);
    expect(raw.body.error.details.tier).toBe('raw');
    // Shown from the CLI as a message and a non-zero exit.
    const cli = await tally(['query', 'requests', '--from', '2026-05-04T00:00:00Z', '--to', '2026-05-04T01:00:00Z', '--window', 'MINUTE', ...conn()]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/minute rollups are kept only from 2026-05-05/);

    // The raw row of e2-3 is gone; within the backfill horizon a re-send is still a duplicate.
    const again = await s.request('POST', '/v1/events', [day(2, 3), day(5, 3)]);
    expect(again.body.receipts.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect((await tally(['retention', 'show', ...conn()])).stdout).toMatch(/raw.*2026-05-04T00:00:00\.000Z/);

    // Raw events ingested on 2026-05-06 were deleted: that day can no longer be archived complete.
    clock.set('2026-05-07T01:00:00Z');
    const archive = await s.request('POST', '/v1/jobs/archive/run', { range: '2026-05-06' });
    expect(archive.body.run).toMatchObject({ status: 'failed', error: expect.stringContaining('deleted by retention') });
  }, 300_000);
});
