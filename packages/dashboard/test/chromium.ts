import { existsSync } from 'node:fs';
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
