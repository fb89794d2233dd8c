import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Crash test: a client streams batches with retries while the server is SIGKILLed and
 * restarted several times. Every acknowledged event must be counted exactly once, and the
 * totals must equal the number of distinct ids sent (0 lost, 0 double).
 */
const KEY = 'tally_CrashTestKey_abcdefghijklmnopqrstuvwxyz012345';
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'tally-crash-'));
const children: ChildProcess[] = [];

beforeAll(() => {
  writeFileSync(
    join(dir, 'tally.config.yaml'),
    [
      `store: { dataDir: ${JSON.stringify(join(dir, 'data'))} }`,
      'meters:',
      '  - { slug: calls, eventType: call, aggregation: COUNT, groupBy: { shard: $.shard } }',
      '  - { slug: units, eventType: call, aggregation: SUM, valueProperty: $.units }',
    ].join('\n'),
  );
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function startServer(port: number, dataDir = join(dir, 'data')): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', join(dir, 'tally.config.yaml'), '--port', String(port)], {
    env: { ...process.env, TALLY_ADMIN_KEY: KEY, TALLY_LOG_LEVEL: 'warn', TALLY_DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error('server did not become ready');
}

describe('crash safety', () => {
  it('SIGKILL mid-stream, several times: every acknowledged event is counted exactly once', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let server = startServer(port);
    await waitReady(url);

    const TOTAL = 40_000;
    const BATCH = 400;
    const now = Date.now();
    const batches = Array.from({ length: TOTAL / BATCH }, (_, b) =>
      Array.from({ length: BATCH }, (_, k) => {
        const i = b * BATCH + k;
        return { specversion: '1.0', id: `c-${i}`, source: 'crash', type: 'call', subject: `tenant-${i % 7}`, time: new Date(now - (i % 3600) * 1000).toISOString(), data: { shard: i % 5, units: '0.1' } };
      }),
    );
    let acknowledged = 0;
    let batchesDone = 0;
    let attempts = 0;
    let duplicates = 0;
    const sendWithRetry = async (batch: unknown[]) => {
      for (;;) {
        attempts++;
        try {
          const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
          if (res.status === 200) {
            const body = (await res.json()) as { accepted: number; duplicates: number; rejected: number };
            expect(body.rejected).toBe(0);
            acknowledged += body.accepted;
            duplicates += body.duplicates;
            batchesDone++;
            return;
          }
        } catch {
          /* connection refused or reset while the server is down: retry */
        }
        await sleep(50 + Math.random() * 100);
      }
    };

    // Kill at fixed points of progress (not on a timer), so the number of crashes mid-stream
    // does not depend on how fast this machine is.
    const killAt = [0.1, 0.3, 0.5, 0.7, 0.85].map((f) => Math.floor(f * batches.length));
    let kills = 0;
    let streaming = true;
    const killer = (async () => {
      while (streaming && kills < killAt.length) {
        await sleep(10);
        if (!streaming || batchesDone < killAt[kills]!) continue;
        server.kill('SIGKILL');
        await new Promise((r) => server.once('exit', r));
        kills++;
        server = startServer(port);
        await waitReady(url);
      }
    })();

    // 4 clients; each batch is also re-sent once later, like a client that lost the answer.
    const queue = [...batches.keys()];
    const resend = batches.filter((_, i) => i % 5 === 0);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let b = queue.shift(); b !== undefined; b = queue.shift()) await sendWithRetry(batches[b]!);
      }),
    );
    for (const b of resend) await sendWithRetry(b);
    streaming = false;
    await killer;

    expect(kills).toBe(killAt.length);
    // Restart once more so the final answer also survives a last crash.
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    server = startServer(port);
    await waitReady(url);
    const query = async (meter: string) => {
      const res = await fetch(`${url}/v1/meters/${meter}/query?from=${new Date(now - 7_200_000).toISOString()}&to=${new Date(now + 600_000).toISOString()}`, { headers: { authorization: `Bearer ${KEY}` } });
      return ((await res.json()) as { data: { value: string }[] }).data[0]!.value;
    };
    console.log(`crash test: ${kills + 1} SIGKILLs, ${attempts} requests, ${acknowledged} accepted acks, ${duplicates} duplicate acks`);
    // A commit whose answer was lost to a kill comes back as `duplicate` on retry: every event
    // got exactly one durable write, so accepted ≤ TOTAL ≤ accepted + duplicates.
    expect(acknowledged).toBeLessThanOrEqual(TOTAL);
    expect(acknowledged + duplicates).toBeGreaterThanOrEqual(TOTAL);
    expect(await query('calls')).toBe(String(TOTAL));
    expect(await query('units')).toBe(String(TOTAL / 10));
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }, 240_000);

  it('SIGTERM finishes in-flight requests, closes the store, and loses nothing acknowledged', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const data = join(dir, 'graceful');
    let server = startServer(port, data);
    await waitReady(url);
    const now = Date.now();
    const batch = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ specversion: '1.0', id: `${prefix}-${i}`, source: 'term', type: 'call', subject: 'graceful', time: new Date(now - i).toISOString(), data: { shard: 1, units: 1 } }));
    const inflight = Array.from({ length: 6 }, (_, k) =>
      fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(batch(5000, `g${k}`)) }),
    );
    await sleep(30);
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    const answers = await Promise.allSettled(inflight);
    expect(await exited).toBe(0);
    let acknowledged = 0;
    for (const a of answers) {
      if (a.status === 'fulfilled' && a.value.status === 200) acknowledged += ((await a.value.json()) as { accepted: number }).accepted;
    }
    server = startServer(port, data);
    await waitReady(url);
    const res = await fetch(`${url}/v1/meters/calls/query?tenant=graceful&from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 600_000).toISOString()}`, { headers: { authorization: `Bearer ${KEY}` } });
    const rows = ((await res.json()) as { data: { value: string }[] }).data;
    const stored = rows.length ? Number(rows[0]!.value) : 0;
    console.log(`graceful shutdown: ${acknowledged} events acknowledged before exit, ${stored} stored after restart`);
    expect(acknowledged).toBeGreaterThan(0);
    expect(stored).toBe(acknowledged);
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }, 120_000);
});
