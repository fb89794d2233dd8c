import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTally, type RunningTally } from './app.ts';
import { configSchema, type TallyConfig } from './config/schema.ts';
import type { MeterDefinition } from './meters/meter.ts';
import type { Clock } from './shared/time.ts';

/** A real Tally server on an ephemeral port with a DuckDB file in a fresh temp dir. */
export interface TestServer extends RunningTally {
  adminToken: string;
  /** POSTs JSON with the admin key (or `token`) and returns status and parsed body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: bodies are asserted field by field
  request(method: string, path: string, body?: unknown, opts?: { token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Closes the server and deletes its data directory. */
  close(): Promise<void>;
}

/** Options of {@link startTestServer}. */
export interface TestServerOptions {
  meters?: MeterDefinition[];
  clock?: Clock;
  dataDir?: string;
  config?: Partial<Record<keyof TallyConfig, unknown>>;
}

/** Starts a real server for tests (used by this package and by @tally/sdk's tests). */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tally-srv-'));
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0, logLevel: 'silent' },
    store: { dataDir },
    meters: opts.meters ?? [],
    ...opts.config,
  });
  const t = await startTally(config, opts.clock ? { clock: opts.clock } : {});
  const adminToken = t.adminToken!;
  const request: TestServer['request'] = async (method, path, body, o = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${o.token ?? adminToken}`, ...o.headers };
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(t.url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return {
    ...t,
    adminToken,
    request,
    close: async () => {
      await t.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
