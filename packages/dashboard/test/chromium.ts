import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { servicesRequired } from '@tally/testkit';

/** Debian's Chromium, which the browser tests drive through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet headless run inside containers (no sandbox, no background traffic). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Like testkit's `serviceAvailable`, for a browser binary: true when Chromium is installed;
 * when it is not, throws if services are required (CI: TALLY_REQUIRE_SERVICES=1), else warns
 * and returns false so the suite is skipped on a laptop without it.
 */
export function chromiumAvailable(path = CHROMIUM): boolean {
  if (existsSync(path)) return true;
  if (servicesRequired) throw new Error(`Chromium is required (TALLY_REQUIRE_SERVICES=1) but ${path} is missing: apt-get install -y chromium`);
  console.warn(`[testkit] Chromium not found at ${path}: skipping the browser tests (apt-get install -y chromium)`);
  return false;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The server's test harness as the browser tests use it (`packages/server/src/testing.ts`). */
export interface TestServer {
  url: string;
  adminToken: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: each test reads the answers it asked for
  request(method: string, path: string, body?: unknown, opts?: { token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string }>;
  /** The embedded store (DuckDB), for tests that change it behind the server's back. */
  store: { connect(): Promise<{ run(sql: string): Promise<unknown>; closeSync(): void }> };
  close(): Promise<void>;
}

/** The server package's source, imported by path: the dashboard does not depend on the server package. */
export const serverSrc = '../../server/src';

/** Starts a real Tally server (the server's own test harness) with `options`. */
export async function startTestServer(options: object): Promise<TestServer> {
  const { startTestServer: start } = (await import(`${serverSrc}/testing.ts`)) as { startTestServer: (o: object) => Promise<TestServer> };
  return start(options);
}

/** Builds the dashboard into its dist folder, which the server serves. */
export async function buildDashboard(): Promise<void> {
  await build({ root: join(here, '..'), configFile: join(here, '../vite.config.ts'), logLevel: 'warn' });
}

/** Launches Debian's Chromium headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
