import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildCli } from '../src/cli/program.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
// Absolute, so the CLI can run from a directory without node_modules (and without .tally/).
const TSX = import.meta.resolve('tsx');

/** Runs `tally …`; resolves with exit code and output instead of throwing. */
async function tally(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', TSX, CLI, ...args], { env: { ...process.env, TALLY_URL: '', TALLY_KEY: '', ...env }, cwd: tmpdir() });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock: fixedClock('2026-04-01T12:00:00Z') });
  const events = Array.from({ length: 30 }, (_, i) => ce(`cli${i}`, i % 2 ? 'acme' : 'globex', `2026-04-01T0${i % 10}:00:00Z`, { route: i % 3 ? '/a' : '/b', method: 'GET', bytes: '1.25', ms: i }));
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(30);
});
afterAll(async () => {
  await s.close();
});

describe('tally CLI', () => {
  it('config check runs the checks serve runs (plans against meters) and names the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-check-'));
    writeFileSync(join(dir, 'bad.yaml'), 'meters: []\nplans:\n  - { id: p, currency: USD, prices: [ { meter: nope, model: unit, unitPrice: "1" } ] }\n');
    const bad = await tally(['config', 'check', join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`invalid config ${join(dir, 'bad.yaml')}:`);
    expect(bad.stderr).toContain('plans.0.prices.0.meter: unknown meter "nope"');
    writeFileSync(join(dir, 'good.yaml'), 'meters: [ { slug: calls, eventType: call, aggregation: COUNT } ]\nplans:\n  - { id: p, currency: USD, prices: [ { meter: calls, model: unit, unitPrice: "1" } ] }\n');
    const good = await tally(['config', 'check', join(dir, 'good.yaml')]);
    expect(good.stdout).toBe(`${join(dir, 'good.yaml')} is valid: 1 meters, 0 tenants, 1 plans\n`);
  });

  it('a busy port is one line and exit 2, not a stack trace', async () => {
    const port = new URL(s.url).port;
    const r = await tally(['serve', '--port', port, '--data-dir', mkdtempSync(join(tmpdir(), 'tally-busy-'))], { TALLY_LOG_LEVEL: 'silent' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`tally: cannot listen on 127.0.0.1:${port}: the port is already in use (another Tally or another program?); choose another with --port, --host or TALLY_PORT`);
  });

  it('--help answers at the top level (a real process)', async () => {
    const r = await tally(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tally/);
    for (const c of ['serve', 'demo', 'query', 'meters', 'keys', 'config']) expect(r.stdout).toContain(c);
  });

  it('every command and sub-command has a description and --help', () => {
    const walk = (c: Command): Command[] => [c, ...c.commands.flatMap(walk)];
    const all = walk(buildCli());
    expect(all.length).toBeGreaterThan(10);
    for (const c of all) {
      expect(c.description(), c.name()).not.toBe('');
      expect(c.helpInformation()).toContain('-h, --help');
    }
  });

  it('queries as a table, JSON and CSV', async () => {
    const conn = ['--url', s.url, '--key', s.adminToken];
    const range = ['--from', '2026-04-01T00:00:00Z', '--to', '2026-04-02T00:00:00Z'];
    const table = await tally(['query', 'bytes', ...range, '-g', 'tenant', ...conn]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/acme\s+18\.75/);
    expect(table.stdout).toMatch(/globex\s+18\.75/);
    expect(table.stdout).toContain('served from day rollups');
    const json = await tally(['query', 'requests', ...range, '--filter', 'route=/b', '--json', ...conn]);
    expect(JSON.parse(json.stdout).data[0].value).toBe('10');
    const csv = await tally(['query', 'requests', ...range, '-w', 'day', '-g', 'route', '--csv', ...conn]);
    expect(csv.stdout.trim().split('\n')).toEqual(['windowStart,windowEnd,tenant,route,value', '2026-04-01T00:00:00.000Z,2026-04-02T00:00:00.000Z,,/a,20', '2026-04-01T00:00:00.000Z,2026-04-02T00:00:00.000Z,,/b,10']);
  });

  it('creates a filtered meter from flags, lists it with its unit and filter, and refuses bad flags', async () => {
    const conn = ['--url', s.url, '--key', s.adminToken];
    const range = ['--from', '2026-04-01T00:00:00Z', '--to', '2026-04-02T00:00:00Z'];
    const created = await tally(['meters', 'create', 'requests_b', '-e', 'api.request', '-a', 'count', '-g', 'route=$.route', '--where', '$.route=/b', '--unit', 'requests', ...conn]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^created meter requests_b: backfilled [\d,]+ stored events/);
    const all = JSON.parse((await tally(['query', 'requests', ...range, '-g', 'route', '--json', ...conn])).stdout).data as { value: string; groupBy: { route: string } }[];
    const only = JSON.parse((await tally(['query', 'requests_b', ...range, '-g', 'route', '--json', ...conn])).stdout).data as { value: string; groupBy: { route: string } }[];
    expect(only).toEqual(all.filter((r) => r.groupBy.route === '/b').map((r) => ({ ...r })));
    const list = await tally(['meters', ...conn]);
    expect(list.stdout).toMatch(/requests_b\s+api\.request\s+COUNT\s+—\s+requests\s+route\s+\{"\$\.route":\{"eq":"\/b"\}\}/);
    const again = await tally(['meters', 'create', 'requests_b', '-e', 'api.request', '-a', 'COUNT', '-g', 'route=$.route', '--where', '$.route=/b', '--unit', 'requests', ...conn]);
    expect(again.stdout).toContain('already exists with this definition');
    const bad = await tally(['meters', 'create', 'x', '-e', 'api.request', '-a', 'SUM', '--where', '$.status>>', ...conn]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('valueProperty');
    const badWhere = await tally(['meters', 'create', 'y', '-e', 'api.request', '-a', 'COUNT', '--where', 'status', ...conn]);
    expect(badWhere.code).toBe(2);
    expect(badWhere.stderr).toContain('--where takes PATH=VALUE');
  }, 180_000);

  it('creates, lists and revokes keys', async () => {
    const env = { TALLY_URL: s.url, TALLY_KEY: s.adminToken };
    const created = await tally(['keys', 'create', '--name', 'portal', '--scope', 'read', '--tenant', 'acme', '--json'], env);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; token: string };
    const list = await tally(['keys', 'list'], env);
    expect(list.stdout).toContain(key.id);
    expect(list.stdout).not.toContain(key.token);
    expect((await tally(['keys', 'revoke', key.id], env)).code).toBe(0);
    const again = await tally(['keys', 'revoke', key.id], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('NOT_FOUND');
  });

  it('keys with an expiry and last use; erasures create --wait and show', async () => {
    const env = { TALLY_URL: s.url, TALLY_KEY: s.adminToken };
    const expires = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, '.000Z');
    const created = await tally(['keys', 'create', '--name', 'expiring', '--scope', 'read', '--expires', expires, '--json'], env);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; expiresAt: string; lastUsedAt: string | null };
    expect(key).toMatchObject({ expiresAt: expires, lastUsedAt: null });
    const list = await tally(['keys', 'list'], env);
    expect(list.stdout).toMatch(/last used/);
    expect(list.stdout.split('\n').find((l) => l.includes(key.id))).toContain('never');
    const erased = await tally(['erasures', 'create', 'cli-user-1', '--wait', '--json'], env);
    expect(erased.code).toBe(0);
    const e = JSON.parse(erased.stdout) as { id: string; status: string; rows: { events: number } };
    expect(e).toMatchObject({ status: 'done', rows: { events: 0 } });
    const shown = await tally(['erasures', 'show', e.id], env);
    expect(shown.stdout).toContain(`${e.id}: done`);
    expect(shown.stdout).toContain('raw events: actor removed from 0');
    const missing = await tally(['erasures', 'show', 'era_missing'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('NOT_FOUND');
  }, 120_000);

  it('fails clearly: no server, bad key, unknown meter, bad config, bad flags', async () => {
    const down = await tally(['query', 'requests', '--url', 'http://127.0.0.1:9', '--key', 'tally_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach .*is `tally serve` running/);
    const badKey = await tally(['meters', '--url', s.url, '--key', 'nope']);
    expect(badKey.stderr).toContain('UNAUTHENTICATED');
    const unknown = await tally(['query', 'nope', '--url', s.url, '--key', s.adminToken]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('NOT_FOUND: no meter "nope"');
    const noKey = await tally(['meters', '--url', s.url]);
    expect(noKey.stderr).toContain('no API key');
    const cfg = join(mkdtempSync(join(tmpdir(), 'tally-cli-')), 'c.yaml');
    writeFileSync(cfg, 'server: { port: -1 }\nmeters: [{ slug: x, eventType: e, aggregation: NOPE }]\n');
    const check = await tally(['config', 'check', cfg]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('server.port');
    expect(check.stderr).toContain('meters.0.aggregation');
    expect((await tally(['query'])).code).not.toBe(0);
    const badNum = await tally(['demo', '--events', 'lots', '--url', s.url, '--key', s.adminToken]);
    expect(badNum.code).toBe(2);
    expect(badNum.stderr).toContain('--events must be a positive number');
  });

  it('sends demo traffic that the server accepts', async () => {
    const count = (slug: string, eventType: string) => ({ slug, eventType, aggregation: 'COUNT' as const, groupBy: {} });
    const demo = await startTestServer({ meters: [count('requests', 'api.request'), count('features', 'feature.used'), count('llm', 'llm.completion')] });
    try {
      const r = await tally(['demo', '--events', '3000', '--history-hours', '2', '--url', demo.url, '--key', demo.adminToken]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/sent 3000 events .* accepted \d+, duplicates 0, rejected 0/);
      const accepted = Number(/accepted (\d+)/.exec(r.stdout)![1]);
      let counted = 0;
      for (const m of ['requests', 'features', 'llm']) {
        const q = await demo.request('GET', `/v1/meters/${m}/query?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z`);
        expect(q.body.data).toHaveLength(1);
        counted += Number(q.body.data[0].value);
      }
      expect(counted).toBe(accepted);
      expect(accepted).toBeGreaterThan(2000);
    } finally {
      await demo.close();
    }
  });
});
