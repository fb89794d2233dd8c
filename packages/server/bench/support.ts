import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The CLI entry, for benchmarks that run `tally serve` as a separate process. */
export const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
/** Node flags `tally serve` and `tally worker` run with (as in `npm start` and bin/tally.js): a larger young generation. */
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

/** User and system CPU seconds of a /proc `stat` line (utime, stime in USER_HZ ticks, 100 on Linux). */
function statTimes(stat: string): [number, number] {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]) / 100, Number(f[12]) / 100];
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux; 0 elsewhere or once it ended). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const [user, sys] = statTimes(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return user + sys;
  } catch {
    return 0;
  }
}

/** CPU seconds (user, system) per thread name of processes (the main thread as `main`), from /proc/<pid>/task (Linux). */
export function threadCpu(pids: (number | undefined)[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const pid of pids) {
    if (pid === undefined) continue;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '').trim();
        const name = String(pid) === tid ? 'main' : comm;
        const [user, sys] = statTimes(stat);
        const cur = out.get(name) ?? [0, 0];
        cur[0] += user;
        cur[1] += sys;
        out.set(name, cur);
      } catch {
        /* the thread ended */
      }
    }
  }
  return out;
}

/** Differences of two threadCpu snapshots, formatted: "name user+sys µs/event". */
export function threadLine(a: Map<string, [number, number]>, b: Map<string, [number, number]>, n: number): string {
  return [...b]
    .map(([k, [u, s]]) => [k, u - (a.get(k)?.[0] ?? 0), s - (a.get(k)?.[1] ?? 0)] as const)
    .filter(([, u, s]) => u + s > 0)
    .sort((x, y) => y[1] + y[2] - x[1] - x[2])
    .map(([k, u, s]) => `${k} ${((u * 1e6) / n).toFixed(1)}+${((s * 1e6) / n).toFixed(1)}`)
    .join(', ');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * POSTs a pre-encoded body over a kept-alive connection (node:http; a load generator that
 * costs the machine less CPU per request than fetch, which the server under test shares).
 * Resolves with the status and the answer's text.
 */
export function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
