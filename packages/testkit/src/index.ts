import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * True when service-backed tests are mandatory (CI sets `TALLY_REQUIRE_SERVICES=1`):
 * a missing service must then fail the run instead of skipping it.
 */
export const servicesRequired = process.env.TALLY_REQUIRE_SERVICES === '1';

/** Resolves true when a TCP connection to host:port opens within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Decides whether a service-backed suite runs. Returns true when the service answers.
 * When it does not: throws if services are required (CI), otherwise returns false so the
 * caller can `describe.skipIf(!available)` on a laptop without the service.
 */
export async function serviceAvailable(name: string, host: string, port: number): Promise<boolean> {
  if (await canConnect(host, port)) return true;
  if (servicesRequired) {
    throw new Error(`${name} is required (TALLY_REQUIRE_SERVICES=1) but ${host}:${port} does not answer`);
  }
  console.warn(`[testkit] ${name} at ${host}:${port} is not reachable: skipping its tests`);
  return false;
}

/** Creates a fresh temp directory and returns it with a cleanup function. */
export async function tempDir(prefix = 'tally-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
