import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { api, REPO, run, runOk, serveInstalled, type ServedTally } from './packaging-helpers.ts';

/*
 * What a customer gets from `npm pack`: the three publishable packages are built and packed, and
 * installed into fresh projects under the OS temp dir (outside the repository, no TypeScript
 * tooling), where plain Node must load them, the SDK's Express middleware must be counted by the
 * packed server, the limiters must answer, and `npx tally serve` must start. publint and
 * arethetypeswrong check the tarballs themselves.
 */

const FIXTURES = join(import.meta.dirname, 'fixtures', 'packed');
const BIN = join(REPO, 'node_modules', '.bin');
const PACKAGES = { sdk: '@tally/sdk', limiter: '@tally/limiter', server: '@tally/server' } as const;
type Name = keyof typeof PACKAGES;
interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

const redisUp = await serviceAvailable('Redis', '127.0.0.1', 6379);

let tmp: string;
const packed = {} as Record<Name, Packed & { tarball: string }>;

beforeAll(async () => {
  tmp = mkdtempSync(join(realpathSync(tmpdir()), 'tally-packed-'));
  expect(relative(REPO, tmp).startsWith('..'), 'the temp projects live outside the repository').toBe(true);
  // Built first, then packed without scripts, so the JSON npm prints is not mixed with build logs
  // (`npm pack` alone runs the same builds through each package's prepack script).
  await runOk('npm', ['run', 'build', '-w', PACKAGES.sdk, '-w', PACKAGES.limiter, '-w', PACKAGES.server], REPO);
  const out = await runOk('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, '-w', PACKAGES.sdk, '-w', PACKAGES.limiter, '-w', PACKAGES.server], REPO);
  for (const p of JSON.parse(out) as Packed[]) {
    const name = (Object.keys(PACKAGES) as Name[]).find((n) => PACKAGES[n] === p.name)!;
    packed[name] = { ...p, tarball: join(tmp, p.filename) };
  }
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the tarballs', () => {
  it.each(['sdk', 'limiter'] as const)('@tally/%s: publint (strict) and arethetypeswrong (all resolutions) are clean', async (name) => {
    const publint = await run(join(BIN, 'publint'), ['run', packed[name].tarball, '--strict'], tmp);
    expect(publint.code, publint.stdout + publint.stderr).toBe(0);
    expect(publint.stdout).toContain('All good!');
    const attw = await run(join(BIN, 'attw'), [packed[name].tarball, '--format', 'table-flipped', '--no-color'], tmp);
    expect(attw.code, attw.stdout + attw.stderr).toBe(0);
    expect(attw.stdout).toContain('No problems found');
  });

  it.each(['sdk', 'limiter'] as const)('@tally/%s ships only what users need: built JS, declarations, README, LICENSE', (name) => {
    const files = packed[name].files.map((f) => f.path).sort();
    expect(files.filter((f) => !/^(dist\/[\w.-]+\.(js|cjs|d\.ts|d\.cts)|package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']));
  });

  it('@tally/server ships its compiled JavaScript, bin and the dashboard build, no TypeScript, tests or benchmarks', () => {
    const files = packed.server.files.map((f) => f.path);
    expect(files.filter((f) => !/^(dist\/.+\.js|bin\/tally\.js|dashboard\/(index\.html|assets\/[\w.-]+\.(js|css))|package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['bin/tally.js', 'dist/cli/main.js', 'dist/app.js', 'dashboard/index.html']));
  });
});

describe('@tally/sdk alone in a plain project', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tmp, 'sdk-only');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sdk-only', version: '1.0.0', private: true }));
    await runOk('npm', ['install', packed.sdk.tarball], dir);
    copyFileSync(join(FIXTURES, 'sdk-check.mjs'), join(dir, 'check.mjs'));
  }, 120_000);

  it('keeps the zero-runtime-dependency promise: no dependencies, nothing else installed', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', '@tally', 'sdk', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.optionalDependencies ?? {}).toEqual({});
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe('MIT');
    expect(readdirSync(join(dir, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['@tally']);
    expect(readdirSync(join(dir, 'node_modules', '@tally'))).toEqual(['sdk']);
  });

  it('every entry loads through import (ESM build) and require (CommonJS build)', async () => {
    const report = JSON.parse(await runOk('node', ['check.mjs'], dir)) as Record<string, { import: string; require: string; esmExports: string[]; cjsExports: string[] }>;
    expect(report['@tally/sdk']).toMatchObject({ import: '@tally/sdk/dist/index.js', require: '@tally/sdk/dist/index.cjs' });
    expect(report['@tally/sdk']?.esmExports).toEqual(expect.arrayContaining(['createClient', 'uuidv7', 'UNMATCHED']));
    expect(report['@tally/sdk/express']).toMatchObject({ import: '@tally/sdk/dist/express.js', require: '@tally/sdk/dist/express.cjs', esmExports: ['tallyExpress'] });
    expect(report['@tally/sdk/fastify']?.esmExports).toEqual(['tallyFastify']);
    expect(report['@tally/sdk/node']?.esmExports).toEqual(['tallyNode']);
    for (const r of Object.values(report)) expect(r.cjsExports).toEqual(r.esmExports);
  });
});

describe('a plain project with the server, limiter and SDK tarballs and Express', () => {
  let dir: string;
  let tally: ServedTally | undefined;
  beforeAll(async () => {
    dir = join(tmp, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    // Express comes from the registry (or npm's cache), as in any customer's project.
    await runOk('npm', ['install', packed.server.tarball, packed.limiter.tarball, packed.sdk.tarball, 'express@^5'], dir);
    for (const f of ['limiter-check.mjs', 'express-app.mjs']) copyFileSync(join(FIXTURES, f), join(dir, f));
  }, 180_000);
  afterAll(async () => tally?.stop());

  it('has no TypeScript tooling and the server depends on the installed limiter', () => {
    for (const tool of ['typescript', 'tsx', 'ts-node', 'esbuild']) expect(existsSync(join(dir, 'node_modules', tool)), tool).toBe(false);
    expect(readdirSync(join(dir, 'node_modules', '@tally')).sort()).toEqual(['limiter', 'sdk', 'server']);
  });

  it('the memory and Redis limiters answer, through import and require', async () => {
    const report = JSON.parse(await runOk('node', ['limiter-check.mjs'], dir, redisUp ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {})) as Record<string, Record<string, unknown>>;
    expect(report.import?.resolved).toBe('@tally/limiter/dist/index.js');
    expect(report.require?.resolved).toBe('@tally/limiter/dist/index.cjs');
    for (const how of ['import', 'require']) {
      expect(report[how]).toMatchObject({ memory: [true, true, false], memorySync: [true, true, false] });
      if (redisUp) expect(report[how]?.redis, how).toEqual([true, true, false]);
    }
  });

  it('`npx tally serve` starts there from the packed server (compiled JavaScript, no config file)', async () => {
    tally = await serveInstalled(dir);
    const health = await fetch(`${tally.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    // The dashboard ships inside the package: `/` is the app, not the "not built yet" page.
    const page = await fetch(`${tally.url}/`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('<div id="root">');
    expect(html).not.toContain('has not been built');
    // The installed bin runs dist/, never a TypeScript loader.
    expect(readFileSync(join(dir, 'node_modules', '@tally', 'server', 'bin', 'tally.js'), 'utf8')).not.toMatch(/tsx|\.ts['"]/);
  }, 90_000);

  it("the SDK's Express middleware is counted by the shipped api_requests meter, by route and status class", async () => {
    expect(tally, 'the server started').toBeDefined();
    const { url, adminKey } = tally!;
    // The meter exactly as the repository's tally.config.yaml ships it.
    const shipped = (parse(readFileSync(join(REPO, 'tally.config.yaml'), 'utf8')) as { meters: { slug: string }[] }).meters.find((m) => m.slug === 'api_requests');
    expect((await api(url, adminKey, 'POST', '/v1/meters', shipped)).status).toBe(201);
    const key = await api(url, adminKey, 'POST', '/v1/keys', { name: 'packed-app', scopes: ['ingest'] });
    expect(key.status).toBe(201);

    const tenant = 'packed-acme';
    const app = JSON.parse(await runOk('node', ['express-app.mjs'], dir, { TALLY_URL: url, TALLY_KEY: key.body.token as string, TENANT: tenant, NODE_ENV: 'test' }));
    expect(app).toEqual({ statuses: [200, 200, 200, 201, 500, 500, 404], delivered: 7, lost: 0 });

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const q = await api(url, adminKey, 'GET', `/v1/meters/api_requests/query?from=${from}&to=${to}&tenant=${tenant}&groupBy=route&groupBy=status_class`);
    expect(q.status).toBe(200);
    const counted = Object.fromEntries((q.body.data as { value: string; groupBy: Record<string, string | null> }[]).map((r) => [`${r.groupBy.route} ${r.groupBy.status_class}`, r.value]));
    expect(counted).toEqual({ '/users/:id 2xx': '3', '/orders 2xx': '1', '/boom 5xx': '2', '(unmatched) 4xx': '1' });
  }, 60_000);
});
