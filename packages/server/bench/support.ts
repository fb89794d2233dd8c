import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The CLI entry, for benchmarks that run `tally serve` as a separate process. */
export const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
/** Node flags the server runs with (as in `npm start` and bin/tally.js): a larger young generation. */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];
/** A fixed admin key for benchmark servers. */
export const BENCH_KEY = 'tally_BenchmarkKey_abcdefghijklmnopqrstuvwxyz012345';

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `tally serve` with a config file and waits until it is ready. */
export async function startServerProcess(config: string, port: number, env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  // TALLY_BENCH_PROFILE=<dir> writes a V8 CPU profile of the server process there (on exit).
  const profile = process.env.TALLY_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.TALLY_BENCH_PROFILE] : [];
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...profile, '--import', 'tsx', CLI, 'serve', '--config', config, '--port', String(port)], {
    env: { ...process.env, TALLY_ADMIN_KEY: BENCH_KEY, TALLY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      /* starting */
    }
    if (i > 600) throw new Error('server did not start');
    await sleep(100);
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Formats a rate with thousands separators. */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
