import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (this file is packages/server/test/packaging-helpers.ts). */
export const REPO = join(import.meta.dirname, '..', '..', '..');

/**
 * The environment for everything run outside the repository: no NODE_OPTIONS (the tests set
 * `--conditions=@tally/source`, which would point the installed packages at sources they do not
 * ship), no TALLY_* overrides, no npm_* settings of an enclosing `npm test`; npm uses its cache
 * first (only packages missing from it come from the registry) and stays quiet.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('TALLY_') || k.toLowerCase().startsWith('npm_')) continue;
    env[k] = v;
  }
  return { ...env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'warn', ...extra };
}

/** What a finished command printed. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects on a non-zero exit: callers assert on `code`). */
export function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Like {@link run}, but fails with everything the command printed when it exits non-zero. */
export async function runOk(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const r = await run(cmd, args, cwd, extraEnv);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A `tally serve` started from an installed tarball, with what its banner printed. */
export interface ServedTally {
  child: ChildProcess;
  url: string;
  adminKey: string;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Signals every process of the group `pgid`; false when none is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `npx --no tally serve --port 0` in `cwd` and waits for its banner (API URL and admin key).
 * It runs in its own process group: npx does not pass signals on to the server it starts, so
 * stopping signals the whole group and waits until the server itself has exited.
 */
export function serveInstalled(cwd: string): Promise<ServedTally> {
  const child = spawn('npx', ['--no', 'tally', 'serve', '--port', '0'], { cwd, env: cleanEnv({ TALLY_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pgid = child.pid!;
  const stop = async () => {
    signalGroup(pgid, 'SIGTERM');
    for (let waited = 0; signalGroup(pgid, 0); waited += 100) {
      if (waited === 10_000) signalGroup(pgid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => void stop().then(() => reject(new Error(`tally serve printed no banner in 60 s\n${out}\n${err}`))), 60_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`tally serve exited ${code}\n${out}\n${err}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /API\s+(http:\/\/\S+)/.exec(out)?.[1];
      const adminKey = /Admin key\s+(\S+)/.exec(out)?.[1];
      if (url && adminKey) {
        clearTimeout(timer);
        resolve({ child, url, adminKey, stop });
      }
    });
  });
}

/** A JSON request to a Tally server with a bearer key; returns status and parsed body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: bodies are asserted field by field
export async function api(url: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
