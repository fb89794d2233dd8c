import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { serviceAvailable } from '@tally/testkit';
import fc from 'fast-check';
import type { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../contract/store-contract.ts';
import type { Decision } from '../decision.ts';
import type { FailurePolicy } from '../failure/failure-policy.ts';
import { Limiter } from '../limiter.ts';
import { createRedisClient } from './client.ts';
import { RedisScriptError, RedisStore } from './redis-store.ts';
import type { Algorithm, Policy, StoreMode, StoreResult } from '../types.ts';

const available = await serviceAvailable('Redis', '127.0.0.1', 6379);
const redis = available ? createRedisClient('redis://127.0.0.1:6379', { enableOfflineQueue: true }) : undefined;
const prefix = `tally-test:${randomUUID()}:`;

afterAll(async () => {
  if (redis === undefined) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describeStoreContract('redis', (clock) => new RedisStore({ redis: redis as NonNullable<typeof redis>, prefix, clock }), !available);
describeStoreContract('redis, coalesce: false', (clock) => new RedisStore({ redis: redis as NonNullable<typeof redis>, prefix, clock, coalesce: false }), !available);

describe.skipIf(!available)('RedisStore specifics', () => {
  const policies: Policy[] = [
    { name: 'burst', algorithm: 'gcra', limit: 10, windowMs: 1_000 },
    { name: 'log', algorithm: 'sliding-log', limit: 100, windowMs: 60_000 },
  ];

  it('uses Redis server TIME when no clock is injected', async () => {
    const r = redis as NonNullable<typeof redis>;
    const store = new RedisStore({ redis: r, prefix });
    const [sec] = await r.time();
    const result = await store.apply({ key: randomUUID(), policies, cost: 1, mode: 'consume' });
    expect(Math.abs(result.now - Number(sec) * 1000)).toBeLessThan(5_000);
    expect(result.allowed).toBe(true);
  });

  it('hash-tags every key of a call into one cluster slot', () => {
    const store = new RedisStore({ redis: redis as NonNullable<typeof redis>, prefix });
    const keys = policies.flatMap((p) => store.keysFor('tenant:{odd}', p));
    const tags = new Set(keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]));
    expect(tags.size).toBe(1);
  });

  it('falls back to EVAL after SCRIPT FLUSH (NOSCRIPT) and keeps the state', async () => {
    const r = redis as NonNullable<typeof redis>;
    const store = new RedisStore({ redis: r, prefix });
    const key = randomUUID();
    expect((await store.apply({ key, policies, cost: 9, mode: 'consume' })).allowed).toBe(true);
    await r.script('FLUSH');
    const after = await store.apply({ key, policies, cost: 2, mode: 'consume' });
    expect(after.allowed).toBe(false);
    expect(after.states[0]?.policy).toBe('burst');
  });

  it('serves one GCRA policy with the lean script, sharing state with the generic one (and its NOSCRIPT fallback)', async () => {
    const r = redis as NonNullable<typeof redis>;
    let now = 1_700_000_000_000;
    const store = new RedisStore({ redis: r, prefix, clock: () => now });
    const one: Policy[] = [{ name: 'burst', algorithm: 'gcra', limit: 10, windowMs: 1_000 }];
    const key = randomUUID();
    expect((await store.apply({ key, policies: one, cost: 6, mode: 'consume' })).states[0]).toMatchObject({ remaining: 4 });
    await r.script('FLUSH');
    // lease runs the generic script on the state the lean one wrote
    expect(await store.apply({ key, policies: one, cost: 10, mode: 'lease' })).toMatchObject({ consumed: 4, states: [{ remaining: 0 }] });
    now += 100; // one unit drips back every 100 ms
    expect((await store.apply({ key, policies: one, cost: 2, mode: 'consume' })).states[0]).toMatchObject({ allowed: false, remaining: 1, retryAfterMs: 100, resetAt: now + 900 });
    expect((await store.apply({ key, policies: one, cost: 1, mode: 'consume' })).states[0]).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('keeps large integers exact (no %g rounding in Lua)', async () => {
    const big: Policy[] = [{ name: 'month', algorithm: 'gcra', limit: 1_000_000, windowMs: 2_592_000_000 }];
    let now = 1_700_000_000_000;
    const store = new RedisStore({ redis: redis as NonNullable<typeof redis>, prefix, clock: () => now });
    const key = randomUUID();
    expect((await store.apply({ key, policies: big, cost: 999_999, mode: 'consume' })).states[0]?.remaining).toBe(1);
    now += 2_592; // exactly one unit refills after windowMs / limit ms
    expect((await store.apply({ key, policies: big, cost: 2, mode: 'peek' })).states[0]).toMatchObject({ remaining: 2, allowed: true });
  });
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const DAY = 86_400_000;

describe.skipIf(!available)('RedisStore request coalescing', () => {
  const r = () => redis as NonNullable<typeof redis>;
  const policies: Policy[] = [
    { name: 'burst', algorithm: 'gcra', limit: 10, windowMs: 1_000 },
    { name: 'log', algorithm: 'sliding-log', limit: 100, windowMs: 60_000 },
  ];
  const diff = (a: ReturnType<RedisStore['stats']>, b: ReturnType<RedisStore['stats']>) => ({
    requests: b.requests - a.requests,
    scripts: b.scripts - a.scripts,
    batches: b.batches - a.batches,
  });

  it('a lone call is sent alone, in a script run of its own (and maxBatch 1 never batches)', async () => {
    const store = new RedisStore({ redis: r(), prefix });
    const one: Policy[] = [{ name: 'g', algorithm: 'gcra', limit: 10, windowMs: 1_000 }];
    expect((await store.apply({ key: randomUUID(), policies: one, cost: 1, mode: 'consume' })).allowed).toBe(true);
    expect((await store.apply({ key: randomUUID(), policies, cost: 1, mode: 'consume' })).allowed).toBe(true);
    expect(store.stats()).toEqual({ requests: 2, scripts: 2, batches: 0 });
    const unbatched = new RedisStore({ redis: r(), prefix, maxBatch: 1 });
    const results = await Promise.all(Array.from({ length: 5 }, () => unbatched.apply({ key: randomUUID(), policies: one, cost: 1, mode: 'consume' })));
    expect(results.every((x) => x.allowed)).toBe(true);
    expect(unbatched.stats()).toEqual({ requests: 5, scripts: 5, batches: 0 });
  });

  // Windows of a day (or longer) with server TIME: no refill or window boundary during the test.
  const exact: [Algorithm, number][] = [
    ['gcra', DAY],
    ['sliding-log', DAY],
    ['fixed-window', 2 ** 40],
  ];
  for (const [algorithm, windowMs] of exact) {
    it(`${algorithm}: 400 concurrent calls on one key are coalesced and admit exactly the limit, in call order`, async () => {
      const store = new RedisStore({ redis: r(), prefix });
      const key = randomUUID();
      const p: Policy[] = [{ name: 'p', algorithm, limit: 137, windowMs }];
      const results = await Promise.all(Array.from({ length: 400 }, () => store.apply({ key, policies: p, cost: 1, mode: 'consume' })));
      expect(store.stats()).toEqual({ requests: 400, scripts: 13, batches: 13 }); // 12 full batches of 32, then 16
      expect(results.filter((x) => x.allowed)).toHaveLength(137);
      // Processed in call order: the first 137 calls are admitted, with remaining 136 … 0.
      expect(results.slice(0, 137).map((x) => x.states[0]?.remaining)).toEqual(Array.from({ length: 137 }, (_, i) => 136 - i));
      expect(results.slice(137).every((x) => !x.allowed && x.consumed === 0 && x.states[0]?.remaining === 0)).toBe(true);
      expect((await store.apply({ key, policies: p, cost: 0, mode: 'peek' })).states[0]?.remaining).toBe(0);
    });
  }

  it('multi-policy all-or-nothing holds inside a batch: every policy consumed by exactly the admitted cost', async () => {
    const now = 1_700_000_000_000;
    const store = new RedisStore({ redis: r(), prefix, clock: () => now });
    const sequential = new RedisStore({ redis: r(), prefix, clock: () => now, coalesce: false });
    const multi: Policy[] = [
      { name: 'burst', algorithm: 'gcra', limit: 9, windowMs: 1_000 },
      { name: 'hourly', algorithm: 'fixed-window', limit: 11, windowMs: 3_600_000 },
      { name: 'log', algorithm: 'sliding-log', limit: 10, windowMs: 60_000 },
      { name: 'smooth', algorithm: 'sliding-window', limit: 12, windowMs: 60_000 },
    ];
    const costs = [3, 2, 4, 1, 3, 2, 1, 1, 5, 1, 2, 1];
    const key = randomUUID();
    const before = store.stats();
    const batched = await Promise.all(costs.map((cost) => store.apply({ key, policies: multi, cost, mode: 'consume' })));
    expect(diff(before, store.stats())).toEqual({ requests: costs.length, scripts: 1, batches: 1 });
    const other = randomUUID();
    const alone: StoreResult[] = [];
    for (const cost of costs) alone.push(await sequential.apply({ key: other, policies: multi, cost, mode: 'consume' }));
    expect(batched).toEqual(alone);
    const admitted = batched.reduce((a, x) => a + x.consumed, 0);
    expect(batched.some((x) => !x.allowed)).toBe(true);
    for (const x of batched) expect(x.consumed).toBe(x.allowed ? costs[batched.indexOf(x)] : 0);
    // Nothing partial: every policy shows exactly the admitted cost as used.
    const after = await store.apply({ key, policies: multi, cost: 0, mode: 'peek' });
    expect(after.states.map((s) => s.limit - s.remaining)).toEqual(multi.map(() => admitted));
  });

  it('mixed keys, policy sets, modes (consume, peek, lease, refund) and injected times in one batch answer exactly as sequential calls', async () => {
    // Policy names are unique across the sets: one key's state per name, whatever the set.
    const sets: Policy[][] = [
      [{ name: 'g1', algorithm: 'gcra', limit: 5, windowMs: 1_000 }],
      [{ name: 'g2', algorithm: 'gcra', limit: 3, windowMs: 1_000, burst: 2 }],
      [{ name: 'l1', algorithm: 'sliding-log', limit: 6, windowMs: 1_000 }],
      [{ name: 'f1', algorithm: 'fixed-window', limit: 4, windowMs: 1_000 }],
      [{ name: 's1', algorithm: 'sliding-window', limit: 6, windowMs: 1_000 }],
      [
        { name: 'mg', algorithm: 'gcra', limit: 4, windowMs: 1_000 },
        { name: 'mf', algorithm: 'fixed-window', limit: 8, windowMs: 10_000 },
        { name: 'ml', algorithm: 'sliding-log', limit: 10, windowMs: 2_000 },
      ],
    ];
    const op = fc.record({
      key: fc.integer({ min: 0, max: 2 }),
      set: fc.integer({ min: 0, max: sets.length - 1 }),
      mode: fc.constantFrom<StoreMode | 'refund'>('consume', 'consume', 'peek', 'lease', 'refund'),
      cost: fc.integer({ min: 0, max: 4 }),
      dt: fc.integer({ min: 0, max: 300 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 60 }), async (ops) => {
        let now = 1_700_000_000_000;
        const clock = () => now;
        const batchedStore = new RedisStore({ redis: r(), prefix, clock });
        const sequentialStore = new RedisStore({ redis: r(), prefix, clock, coalesce: false });
        const run = (store: RedisStore, keys: string[], o: (typeof ops)[number]): Promise<StoreResult> => {
          const request = { key: keys[o.key] as string, policies: sets[o.set] as Policy[], cost: o.cost };
          return o.mode === 'refund' ? store.refund(request) : store.apply({ ...request, mode: o.mode });
        };
        // Batched: every call issued in one tick, each with its own injected time.
        const a = [randomUUID(), randomUUID(), randomUUID()];
        const pending: Promise<StoreResult>[] = [];
        for (const o of ops) {
          now += o.dt;
          pending.push(run(batchedStore, a, o));
        }
        const batched = await Promise.all(pending);
        expect(batchedStore.stats().scripts).toBe(Math.ceil(ops.length / 32));
        // Sequential: one call at a time, one script run each, at the same times.
        now = 1_700_000_000_000;
        const b = [randomUUID(), randomUUID(), randomUUID()];
        const sequential: StoreResult[] = [];
        for (const o of ops) {
          now += o.dt;
          sequential.push(await run(sequentialStore, b, o));
        }
        expect(batched).toEqual(sequential);
      }),
      { numRuns: 30, seed: 4 },
    );
  });

  it('a script error of one call (WRONGTYPE on its key) rejects that call only; the others of the batch are answered', async () => {
    const store = new RedisStore({ redis: r(), prefix });
    const one: Policy[] = [{ name: 'p', algorithm: 'gcra', limit: 10, windowMs: 1_000 }];
    const bad = randomUUID();
    await r().sadd(store.keysFor(bad, one[0] as Policy)[0] as string, 'not a gcra state');
    const before = store.stats();
    const settled = await Promise.allSettled([
      store.apply({ key: randomUUID(), policies: one, cost: 1, mode: 'consume' }),
      store.apply({ key: bad, policies: one, cost: 1, mode: 'consume' }),
      store.apply({ key: randomUUID(), policies, cost: 1, mode: 'consume' }),
      store.refund({ key: bad, policies: one, cost: 1 }),
    ]);
    expect(diff(before, store.stats())).toEqual({ requests: 4, scripts: 1, batches: 1 });
    expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    for (const x of [settled[1], settled[3]]) {
      const reason = (x as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(RedisScriptError);
      expect(reason.message).toMatch(/WRONGTYPE/);
    }
    expect((settled[0] as PromiseFulfilledResult<StoreResult>).value).toMatchObject({ allowed: true, states: [{ remaining: 9 }] });
    // Alone (its own script run) the bad key fails the same way; through a Limiter it is a store
    // error, never a denial, and the good call batched with it is answered.
    await expect(store.apply({ key: bad, policies: one, cost: 1, mode: 'consume' })).rejects.toThrow(/WRONGTYPE/);
    const limiter = new Limiter({ store, policies: one, failure: { mode: 'fail-closed' } });
    const [good, failed] = await Promise.all([limiter.limit(randomUUID()), limiter.limit(bad)]);
    expect(good).toMatchObject({ ok: true, allowed: true });
    expect(failed).toMatchObject({ ok: false, allowed: false, cause: 'store-error' });
  });

  it('a client disconnected under a pending batch rejects every call of it', async () => {
    const client = createRedisClient('redis://127.0.0.1:6379');
    if (client.status !== 'ready') await once(client, 'ready');
    const store = new RedisStore({ redis: client, prefix });
    const calls = Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0 ? store.apply({ key: `k${i}`, policies, cost: 1, mode: 'consume' }) : store.refund({ key: `k${i}`, policies, cost: 1 }),
    );
    client.disconnect(); // before the batch leaves (it is flushed on the next tick)
    const settled = await Promise.allSettled(calls);
    expect(store.stats()).toEqual({ requests: 10, scripts: 1, batches: 1 });
    expect(settled.every((x) => x.status === 'rejected' && !(x.reason instanceof RangeError))).toBe(true);
  });

  it('a dead port rejects every call of a batch and each caller gets its failure policy, never a denial', async () => {
    const client = createRedisClient(`redis://127.0.0.1:${await deadPort()}`);
    const store = new RedisStore({ redis: client, prefix });
    const one: Policy[] = [{ name: 'p', algorithm: 'gcra', limit: 10, windowMs: 1_000 }];
    const make = (failure: FailurePolicy) => new Limiter({ store, policies: one, failure, clock: () => 0, breaker: { failureThreshold: 1_000 } });
    const open = make({ mode: 'fail-open' });
    const closed = make({ mode: 'fail-closed' });
    const otc = make({ mode: 'open-then-closed', openForMs: 5_000 });
    const calls: Promise<Decision>[] = [];
    for (let i = 0; i < 8; i += 1) calls.push(open.limit(`k${i}`), closed.limit(`k${i}`), otc.peek(`k${i}`, { policies }));
    const results = await Promise.all(calls);
    expect(store.stats()).toEqual({ requests: 24, scripts: 1, batches: 1 });
    expect(results.every((d) => !d.ok && d.cause === 'store-error')).toBe(true);
    expect(results.map((d) => [d.ok ? 'decided' : d.mode, d.allowed])).toEqual(
      Array.from({ length: 8 }, () => [
        ['fail-open', true],
        ['fail-closed', false],
        ['open-then-closed', true],
      ]).flat(),
    );
    client.disconnect();
  });

  it('calls of a batch the server never answers time out one by one in the Limiter (failure policy applies)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const client = createRedisClient(`redis://127.0.0.1:${port}`, { enableReadyCheck: false, disableClientInfo: true });
    if (client.status !== 'ready') await once(client, 'ready');
    const store = new RedisStore({ redis: client, prefix });
    const limiter = new Limiter({ store, policies, failure: { mode: 'fail-closed' }, timeoutMs: 50, breaker: { failureThreshold: 1_000 } });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => limiter.limit(`k${i}`)));
    expect(store.stats()).toEqual({ requests: 10, scripts: 1, batches: 1 });
    expect(results.every((d) => !d.ok && !d.allowed && d.cause === 'timeout')).toBe(true);
    client.disconnect();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('with a Redis Cluster client only calls on one key (one hash tag, one slot) share a script run', async () => {
    // A stand-in "cluster": the real client behind an object that says isCluster and records each
    // script run's keys (no Redis Cluster is available here).
    const runs: string[][] = [];
    const real = r() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>> & { defineCommand: (name: string, def: object) => void };
    const fake: Record<string, unknown> = {
      isCluster: true,
      defineCommand(name: string, def: object) {
        real.defineCommand(name, def);
        fake[name] = (...args: unknown[]) => {
          const flat = args.flat() as (string | number)[];
          runs.push(flat.slice(1, 1 + Number(flat[0])).map(String));
          return (real[name] as (...a: unknown[]) => Promise<unknown>).apply(real, args);
        };
      },
    };
    const store = new RedisStore({ redis: fake as unknown as Cluster, prefix });
    const one: Policy[] = [{ name: 'p', algorithm: 'gcra', limit: 3, windowMs: DAY }];
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const results = await Promise.all(keys.flatMap((key) => Array.from({ length: 5 }, () => store.apply({ key, policies: one, cost: 1, mode: 'consume' }))));
    expect(store.stats()).toEqual({ requests: 15, scripts: 3, batches: 3 });
    expect(runs).toHaveLength(3);
    for (const run of runs) expect(new Set(run.map((k) => /\{([^}]*)\}/.exec(k)?.[1])).size).toBe(1);
    expect(results.map((x) => x.allowed)).toEqual(keys.flatMap(() => [true, true, true, false, false]));
  });
});
