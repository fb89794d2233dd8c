import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect, servicesRequired } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { Decision } from '../src/decision.ts';
import type { FailurePolicy } from '../src/failure/failure-policy.ts';
import { Limiter } from '../src/limiter.ts';
import { createRedisClient } from '../src/redis/client.ts';
import { RedisStore } from '../src/redis/redis-store.ts';
import type { Policy } from '../src/types.ts';

const hasRedisServer = await new Promise<boolean>((resolve) => {
  const p = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  p.on('error', () => resolve(false));
  p.on('exit', (code) => resolve(code === 0));
});
if (!hasRedisServer && servicesRequired) throw new Error('redis-server binary is required (TALLY_REQUIRE_SERVICES=1)');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 10_000): Promise<T> {
  // A liveness bound so a broken recovery fails instead of hanging; not a performance assertion.
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

let server: ChildProcess | undefined;
async function startServer(port: number): Promise<void> {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await until('redis-server to listen', async () => ((await canConnect('127.0.0.1', port, 100)) ? true : undefined));
}
function killServer(): void {
  server?.kill('SIGKILL');
  server = undefined;
}
afterAll(() => {
  if (server?.pid !== undefined) process.kill(server.pid, 'SIGCONT');
  killServer();
});

const policies: Policy[] = [{ name: 'p', algorithm: 'sliding-log', limit: 1_000_000, windowMs: 60_000 }];

describe.skipIf(!hasRedisServer)('Redis outage: own redis-server killed, restarted, and frozen', () => {
  it('every failure policy answers as specified, nothing throws, recovery follows the server back', async () => {
    const port = await freePort();
    await startServer(port);
    const redis = createRedisClient(`redis://127.0.0.1:${port}`);
    await until('client ready', async () => (redis.status === 'ready' ? true : undefined));
    const store = new RedisStore({ redis });
    let fake = 0; // open-then-closed runs on an injected clock so its switch-over is asserted exactly
    const make = (failure: FailurePolicy, clock?: () => number) =>
      new Limiter({ store, policies, failure, timeoutMs: 100, breaker: { failureThreshold: 3, cooldownMs: 200 }, ...(clock ? { clock } : {}) });
    const open = make({ mode: 'fail-open' });
    const closed = make({ mode: 'fail-closed' });
    const otc = make({ mode: 'open-then-closed', openForMs: 5_000 }, () => fake);
    const all = [open, closed, otc];
    const call = (l: Limiter): Promise<Decision> => l.limit('tenant-a');

    for (const l of all) expect(await call(l)).toMatchObject({ ok: true, allowed: true });

    killServer();
    await until('the outage to be seen', async () => ((await call(closed)).ok ? undefined : true));
    const during = { open: [] as Decision[], closed: [] as Decision[], otc: [] as Decision[] };
    for (let i = 0; i < 20; i += 1) {
      // Any throw or rejection here fails the test: nothing may escape into the caller.
      during.open.push(await call(open));
      during.closed.push(await call(closed));
      during.otc.push(await call(otc));
    }
    expect(during.open.every((d) => !d.ok && d.allowed && d.mode === 'fail-open')).toBe(true);
    expect(during.closed.every((d) => !d.ok && !d.allowed && d.mode === 'fail-closed')).toBe(true);
    expect(during.otc.every((d) => !d.ok && d.allowed)).toBe(true);
    expect(new Set(during.closed.map((d) => (d.ok ? 'ok' : d.cause)))).toEqual(new Set(['store-error', 'circuit-open']));
    fake += 5_000; // the outage is now longer than openForMs: open-then-closed closes
    expect(await call(otc)).toMatchObject({ ok: false, allowed: false, mode: 'open-then-closed' });

    await startServer(port);
    const back = Date.now();
    const recoveredAfter = await until('fail-closed limiter to recover', async () => ((await call(closed)).ok ? Date.now() - back : undefined));
    await until('fail-open limiter to recover', async () => ((await call(open)).ok ? true : undefined));
    await until('open-then-closed limiter to recover', async () => {
      fake += 200; // its breaker runs on the injected clock: step past the cooldown
      return (await call(otc)).ok ? true : undefined;
    });
    console.log(`[outage] recovered ${recoveredAfter} ms after the restarted redis-server accepted connections`);
    // The restarted server has an empty script cache: EVALSHA → NOSCRIPT → EVAL fallback worked.
    expect(await call(closed)).toMatchObject({ ok: true, allowed: true });

    // A frozen server (SIGSTOP) accepts nothing and answers nothing: per-call timeouts decide.
    process.kill(server?.pid as number, 'SIGSTOP');
    const frozen = await call(closed);
    expect(frozen).toMatchObject({ ok: false, allowed: false, cause: 'timeout' });
    expect(await call(open)).toMatchObject({ ok: false, allowed: true });
    process.kill(server?.pid as number, 'SIGCONT');
    const thawed = Date.now();
    const thawedAfter = await until('recovery after SIGCONT', async () => ((await call(closed)).ok ? Date.now() - thawed : undefined));
    console.log(`[outage] recovered ${thawedAfter} ms after the frozen redis-server resumed`);
    redis.disconnect();
  });

  it('a dead port never throws into the caller', async () => {
    const port = await freePort();
    const redis = createRedisClient(`redis://127.0.0.1:${port}`);
    const limiter = new Limiter({ store: new RedisStore({ redis }), policies, failure: { mode: 'fail-closed' } });
    const results = await Promise.all(Array.from({ length: 50 }, () => limiter.limit('k')));
    expect(results.every((d) => !d.ok && !d.allowed)).toBe(true);
    expect(await limiter.refund('k')).toMatchObject({ ok: false });
    redis.disconnect();
  });
});
