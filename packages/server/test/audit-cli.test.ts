import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/** #16 from the command line: tally archive verify, tally replay, tally reconcile --access-log. */
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

const clock = fixedClock('2026-05-01T23:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'tally-audit-cli-'));
const archive = join(dir, 'archive');
const config = join(dir, 'tally.config.yaml');
let s: TestServer;
const events = Array.from({ length: 40 }, (_, i) => ce(`c${i}`, i % 2 ? 'acme' : 'globex', `2026-05-01T10:${String(i).padStart(2, '0')}:00Z`, { route: '/a', method: i % 4 ? 'GET' : 'POST', status: 200, bytes: i, ms: 1 }));

beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock, config: { audit: { archiveDir: archive } } });
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(40);
  clock.set('2026-05-02T00:20:00Z');
  expect((await s.request('POST', '/v1/jobs/archive/run', { range: '2026-05-01' })).body.run.status).toBe('succeeded');
  writeFileSync(config, ['meters:', ...TEST_METERS.map((m) => `  - ${JSON.stringify(m)}`), `audit: { archiveDir: ${JSON.stringify(archive)} }`].join('\n'));
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit CLI', () => {
  it('replay rebuilds a store whose meters answer as the server does; verify passes, then catches a changed file', async () => {
    const replay = await tally(['replay', '--from', '2026-05-01', '--to', '2026-05-02', '--into', join(dir, 'replayed'), '--config', config, '--json']);
    expect(replay.code, replay.stderr).toBe(0);
    const out = JSON.parse(replay.stdout) as { rows: number; meters: { meter: string; value: string }[] };
    expect(out.rows).toBe(40);
    for (const m of ['requests', 'bytes']) {
      const api = await s.request('GET', `/v1/meters/${m}/query?from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z`);
      expect(out.meters.find((x) => x.meter === m)!.value).toBe(api.body.data[0].value);
    }
    const ok = await tally(['archive', 'verify', '--dir', archive]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('1 partitions, 40 rows, 0 problems');
    writeFileSync(join(archive, 'date=2026-05-01', 'corrections.parquet'), 'x');
    const bad = await tally(['archive', 'verify', '--dir', archive, '--json']);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as { problems: { file: string; problem: string }[] }).problems.map((p) => `${p.file} ${p.problem}`)).toEqual(['corrections.parquet sha256 differs', 'corrections.parquet unreadable']);
  });

  it('reconcile --access-log: 5 requests Tally never saw → exit 1 and the difference -5', async () => {
    const line = (t: string, method: string) => `10.0.0.1 - - [01/May/2026:${t} +0000] "${method} /a HTTP/1.1" 200 12 "-" "k6"`;
    const log = [...events.map((e) => line(String(e.time).slice(11, 19), (e.data as { method: string }).method)), ...Array.from({ length: 5 }, (_, i) => line(`10:20:3${i}`, 'GET'))];
    writeFileSync(join(dir, 'access.log'), log.join('\n') + '\n');
    const r = await tally(['reconcile', '--access-log', join(dir, 'access.log'), '--url', s.url, '--key', s.adminToken]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/cross-source\.access-log-vs-events\s+discrepancy/);
    expect(r.stdout).toMatch(/requests=all\s+45\s+40\s+-5\s+requests/);
    expect(r.stdout).toMatch(/method=GET statusClass=2xx\s+35\s+30\s+-5/);
  });
});
