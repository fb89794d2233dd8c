/**
 * `npm run bench:limiter -w @tally/limiter` — @tally/limiter side by side with
 * rate-limiter-flexible (RLF) in the same run, against the Redis at TALLY_REDIS_URL
 * (default redis://127.0.0.1:6379). Prints ops/s, latency percentiles and the ratios the
 * issue sets targets for. A script, not a test: numbers depend on the machine.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { EntitlementCounters } from '../src/entitlement.ts';
import { ExactEntitlementCounters } from '../src/entitlement-exact.ts';
import { HybridLimiter } from '../src/hybrid/hybrid-limiter.ts';
import { Limiter } from '../src/limiter.ts';
import { MemoryLimiter } from '../src/memory/memory-limiter.ts';
import { MemoryStore } from '../src/memory/memory-store.ts';
import { createRedisClient } from '../src/redis/client.ts';
import { RedisStore } from '../src/redis/redis-store.ts';
import type { Algorithm, Policy } from '../src/types.ts';

const REDIS_URL = process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `tally-bench:${randomUUID().slice(0, 8)}:`;
const KEYS = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);
const BIG = 1_000_000_000;
const big = (algorithm: Algorithm): Policy[] => [{ name: 'p', algorithm, limit: BIG, windowMs: 60_000 }];

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const line = (label: string, value: string) => console.log(`  ${label.padEnd(52)} ${value}`);

function sync(ops: number, fn: (i: number) => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < ops; i += 1) fn(i);
  return ops / (Number(process.hrtime.bigint() - t) / 1e9);
}

/** `ops` calls with `inFlight` concurrent workers; returns ops/s. */
async function concurrent(ops: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < ops) await fn(next++);
    }),
  );
  return ops / (Number(process.hrtime.bigint() - t) / 1e9);
}

/**
 * Sequential latency in µs → [p50, p99] per function. Samples are interleaved (one call of each
 * function in turn), so load changes on a shared machine hit every contender alike.
 */
async function latencies(samples: number, fns: ((i: number) => Promise<unknown>)[]): Promise<[number, number][]> {
  const out = fns.map(() => new Float64Array(samples));
  for (let i = 0; i < samples; i += 1) {
    for (let f = 0; f < fns.length; f += 1) {
      const t = process.hrtime.bigint();
      await (fns[f] as (i: number) => Promise<unknown>)(i);
      (out[f] as Float64Array)[i] = Number(process.hrtime.bigint() - t) / 1e3;
    }
  }
  return out.map((o) => {
    o.sort();
    return [o[Math.floor(samples * 0.5)] as number, o[Math.floor(samples * 0.99)] as number];
  });
}

/** Runs each contender `rounds` times in alternation and keeps each one's median ops/s. */
async function alternate(rounds: number, runs: (() => Promise<number>)[]): Promise<number[]> {
  const results = runs.map(() => [] as number[]);
  for (let r = 0; r < rounds; r += 1) for (let i = 0; i < runs.length; i += 1) (results[i] as number[]).push(await (runs[i] as () => Promise<number>)());
  return results.map((xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number);
}

const key = (i: number) => KEYS[i % KEYS.length] as string;

/** The fail-fast client has no offline queue: wait until it is connected. */
async function ready<T extends Redis>(client: T): Promise<T> {
  if (client.status !== 'ready') await once(client, 'ready');
  return client;
}

async function memory(): Promise<void> {
  console.log('\n[memory] 1,000 keys, no denials, 3 alternating rounds of 1,000,000 calls, median');
  const OPS = 1_000_000;
  const rlf = new RateLimiterMemory({ points: BIG, duration: 60 });
  const ourSync = new MemoryLimiter({ policies: big('gcra') });
  const ourSyncLog = new MemoryLimiter({ policies: big('fixed-window') });
  const ourAsync = new Limiter({ store: new MemoryStore(), policies: big('gcra'), failure: { mode: 'fail-open' } });
  // warm-up
  await concurrent(100_000, 1, (i) => rlf.consume(key(i)));
  sync(100_000, (i) => ourSync.limit(key(i)));
  const [rlfOps, syncOps, syncFixed, asyncOps] = (await alternate(3, [
    () => concurrent(OPS, 1, (i) => rlf.consume(key(i))),
    async () => sync(OPS, (i) => ourSync.limit(key(i))),
    async () => sync(OPS, (i) => ourSyncLog.limit(key(i))),
    () => concurrent(OPS, 1, (i) => ourAsync.limit(key(i))),
  ])) as [number, number, number, number];
  line('RLF RateLimiterMemory.consume (await)', `${fmt(rlfOps)} ops/s`);
  line('tally MemoryLimiter gcra (sync fast path)', `${fmt(syncOps)} ops/s  ${ratio(syncOps, rlfOps)} RLF (target ≥ 3×)`);
  line('tally MemoryLimiter fixed-window (sync)', `${fmt(syncFixed)} ops/s  ${ratio(syncFixed, rlfOps)} RLF`);
  line('tally Limiter(MemoryStore) gcra (await)', `${fmt(asyncOps)} ops/s  ${ratio(asyncOps, rlfOps)} RLF`);
}

async function redis(): Promise<number> {
  const IN_FLIGHT = 64;
  const OPS = 60_000;
  console.log(`\n[redis] ${REDIS_URL}, 1,000 keys, ${IN_FLIGHT} in flight, 3 alternating rounds of ${fmt(OPS / 3)} calls, median`);
  // Identical client settings for both sides (createRedisClient: fail-fast, no offline queue).
  const ours = await ready(createRedisClient(REDIS_URL));
  const theirs = await ready(createRedisClient(REDIS_URL));
  const store = new RedisStore({ redis: ours, prefix: RUN }); // request coalescing on (the default)
  const gcra = new Limiter({ store, policies: big('gcra'), failure: { mode: 'fail-open' }, timeoutMs: 1_000 });
  // The same without coalescing (one script run per call), on its own identically configured client.
  const oursSingle = await ready(createRedisClient(REDIS_URL));
  const gcraSingle = new Limiter({ store: new RedisStore({ redis: oursSingle, prefix: RUN, coalesce: false }), policies: big('gcra'), failure: { mode: 'fail-open' }, timeoutMs: 1_000 });
  const rlf = new RateLimiterRedis({ storeClient: theirs, points: BIG, duration: 60, keyPrefix: `${RUN}rlf` });
  const logKey = (i: number) => `log-${i % 1000}`;
  await concurrent(5_000, IN_FLIGHT, (i) => rlf.consume(key(i)));
  await concurrent(5_000, IN_FLIGHT, (i) => gcra.limit(key(i)));
  // Sliding log with a short window so the logs stay small, as they would for a real limit.
  const logShort = new Limiter({ store, policies: [{ name: 'p', algorithm: 'sliding-log', limit: BIG, windowMs: 1_000 }], failure: { mode: 'fail-open' }, timeoutMs: 1_000 });
  const multi = new Limiter({
    store,
    policies: [
      { name: 'burst', algorithm: 'gcra', limit: BIG, windowMs: 1_000 },
      { name: 'hour', algorithm: 'fixed-window', limit: BIG, windowMs: 3_600_000 },
      { name: 'month', algorithm: 'fixed-window', limit: BIG, windowMs: 2_592_000_000 },
    ],
    failure: { mode: 'fail-open' },
    timeoutMs: 1_000,
  });
  const before = store.stats();
  const [rlfOps, gcraOps, logOps, multiOps, singleOps] = (await alternate(3, [
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => rlf.consume(key(i))),
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => gcra.limit(key(i))),
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => logShort.limit(logKey(i))),
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => multi.limit(key(i))),
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => gcraSingle.limit(key(i))),
  ])) as [number, number, number, number, number];
  const after = store.stats();
  const perRun = (after.requests - before.requests) / (after.scripts - before.scripts);
  oursSingle.disconnect();
  // The same pair again with ioredis auto-pipelining on both clients (batched socket writes).
  const oursAp = await ready(createRedisClient(REDIS_URL, { enableAutoPipelining: true }));
  const theirsAp = await ready(createRedisClient(REDIS_URL, { enableAutoPipelining: true }));
  const gcraAp = new Limiter({ store: new RedisStore({ redis: oursAp, prefix: RUN }), policies: big('gcra'), failure: { mode: 'fail-open' }, timeoutMs: 1_000 });
  const rlfAp = new RateLimiterRedis({ storeClient: theirsAp, points: BIG, duration: 60, keyPrefix: `${RUN}rlf` });
  const [rlfApOps, gcraApOps] = (await alternate(3, [
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => rlfAp.consume(key(i))),
    () => concurrent(OPS / 3, IN_FLIGHT, (i) => gcraAp.limit(key(i))),
  ])) as [number, number];
  oursAp.disconnect();
  theirsAp.disconnect();
  // Redis CPU per limiter call: script time (INFO commandstats, EVALSHA + EVAL) divided by the number
  // of limiter calls — with coalescing one script run serves many calls. Computed as µs per script
  // run × our script runs ÷ limiter calls, so another client's scripts on this shared Redis can
  // blur the average but not add their runs to ours. Median of 3 alternating rounds.
  const CPU_CALLS = 10_000;
  const cpu = async (run: (i: number) => Promise<unknown>, scriptRuns: () => number): Promise<number> => {
    await ours.config('RESETSTAT');
    const before = scriptRuns();
    await concurrent(CPU_CALLS, IN_FLIGHT, run);
    const runs = scriptRuns() - before;
    let calls = 0;
    let usec = 0;
    for (const m of (await ours.info('commandstats')).matchAll(/cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)/g)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
    return ((usec / calls) * runs) / CPU_CALLS;
  };
  let rlfRuns = 0; // RLF runs one script per call
  const rlfCall = (i: number) => {
    rlfRuns += 1;
    return rlf.consume(key(i));
  };
  const [rlfCpu, gcraCpu] = (await alternate(3, [() => cpu(rlfCall, () => rlfRuns), () => cpu((i) => gcra.limit(key(i)), () => store.stats().scripts)])) as [number, number];
  line('RLF RateLimiterRedis (fixed window)', `${fmt(rlfOps)} ops/s`);
  line('tally Limiter(RedisStore) gcra', `${fmt(gcraOps)} ops/s  ${ratio(gcraOps, rlfOps)} RLF (target ≥ 1.0×)`);
  line('tally Limiter(RedisStore) sliding-log (exact)', `${fmt(logOps)} ops/s  ${ratio(logOps, rlfOps)} RLF`);
  line('tally 3 policies atomic (gcra+hour+month)', `${fmt(multiOps)} ops/s  ${ratio(multiOps, rlfOps)} RLF`);
  line('tally gcra, coalesce: false (one script per call)', `${fmt(singleOps)} ops/s  ${ratio(singleOps, rlfOps)} RLF`);
  line('tally calls per script run (coalesced runs above, avg)', perRun.toFixed(1));
  line('RLF RateLimiterRedis, auto-pipelining', `${fmt(rlfApOps)} ops/s`);
  line('tally gcra, auto-pipelining', `${fmt(gcraApOps)} ops/s  ${ratio(gcraApOps, rlfApOps)} RLF (same settings)`);
  line('Redis CPU per limiter call: RLF / tally gcra', `${rlfCpu.toFixed(1)} µs / ${gcraCpu.toFixed(1)} µs (script time ÷ limiter calls)`);

  console.log('\n[latency] 1 in flight, 10,000 sequential calls each, interleaved (µs)');
  await latencies(1_000, [() => ours.incr(`${RUN}incr`), (i) => gcra.limit(key(i)), (i) => rlf.consume(key(i))]);
  const [[incr50, incr99], [g50, g99], [l50, l99], [r50, r99]] = (await latencies(10_000, [
    () => ours.incr(`${RUN}incr`),
    (i) => gcra.limit(key(i)),
    (i) => logShort.limit(logKey(i)),
    (i) => rlf.consume(key(i)),
  ])) as [[number, number], [number, number], [number, number], [number, number]];
  line('bare Redis INCR round trip', `p50 ${incr50.toFixed(0)}  p99 ${incr99.toFixed(0)}`);
  line('tally gcra', `p50 ${g50.toFixed(0)}  p99 ${g99.toFixed(0)}  p99 ${ratio(g99, incr99)} INCR (target ≤ 1.5×)`);
  line('tally sliding-log', `p50 ${l50.toFixed(0)}  p99 ${l99.toFixed(0)}  p99 ${ratio(l99, incr99)} INCR`);
  line('RLF RateLimiterRedis', `p50 ${r50.toFixed(0)}  p99 ${r99.toFixed(0)}  p99 ${ratio(r99, incr99)} INCR`);

  await hybrid(store, rlfOps);
  return rlfOps;
}

async function hybrid(store: RedisStore, rlfOps: number): Promise<void> {
  const IN_FLIGHT = 64;
  const OPS = 1_000_000;
  console.log(`\n[hybrid] leases from Redis, chunk 1,000, ${IN_FLIGHT} in flight, ${fmt(OPS)} calls`);
  const global = new Limiter({ store, policies: big('gcra'), failure: { mode: 'fail-open' }, timeoutMs: 1_000 });
  const node = new HybridLimiter({ limiter: global, chunk: 1_000 });
  await concurrent(50_000, IN_FLIGHT, (i) => node.limit(key(i)));
  const hybridOps = await concurrent(OPS, IN_FLIGHT, (i) => node.limit(key(i % 100)));
  line('tally HybridLimiter gcra (100 hot keys)', `${fmt(hybridOps)} ops/s  ${ratio(hybridOps, rlfOps)} RLF Redis (target ≥ 10×)`);

  // Overshoot: 4 nodes, each with its own connection, race for one limited key.
  for (const [algorithm, chunk] of [
    ['fixed-window', 100],
    ['gcra', 100],
    ['sliding-log', 100],
  ] as [Algorithm, number][]) {
    const LIMIT = 10_000;
    const policies: Policy[] = [{ name: 'p', algorithm, limit: LIMIT, windowMs: algorithm === 'fixed-window' ? 2 ** 40 : 86_400_000 }];
    const clients = await Promise.all(Array.from({ length: 4 }, () => ready(createRedisClient(REDIS_URL))));
    const nodes = clients.map(
      (c) => new HybridLimiter({ limiter: new Limiter({ store: new RedisStore({ redis: c, prefix: RUN }), policies, failure: { mode: 'fail-closed' }, timeoutMs: 1_000 }), chunk, leaseMs: 60_000 }),
    );
    const k = `overshoot-${algorithm}`;
    let allowed = 0;
    await Promise.all(nodes.map((n) => concurrent(2 * LIMIT / nodes.length, 16, async () => ((await n.limit(k)).allowed ? (allowed += 1) : 0))));
    const held = nodes.reduce((a, n) => a + n.held(k), 0);
    line(
      `overshoot ${algorithm}: 4 nodes × chunk ${chunk}, limit ${fmt(LIMIT)}`,
      `admitted ${fmt(allowed)}  overshoot ${Math.max(0, allowed - LIMIT)}  unused in leases ${held}  (bound ${algorithm === 'fixed-window' ? 0 : 4 * chunk})`,
    );
    for (const c of clients) c.disconnect();
  }
}

function entitlement(): void {
  const SAMPLES = 1_000_000;
  console.log(`\n[entitlement] in-process check-and-record, 100,000 tenant×meter keys, ${fmt(SAMPLES)} calls (µs)`);
  const counters = new EntitlementCounters();
  const keys = Array.from({ length: 100_000 }, (_, i) => `tenant-${i}:api_calls`);
  for (const k of keys) counters.set(k, '2025-06', 0);
  const out = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i += 1) {
    const t = process.hrtime.bigint();
    counters.consume(keys[i % keys.length] as string, '2025-06', 1_000_000_000, 1);
    out[i] = Number(process.hrtime.bigint() - t) / 1e3;
  }
  out.sort();
  const p = (q: number) => (out[Math.floor(SAMPLES * q)] as number).toFixed(2);
  line('EntitlementCounters.consume', `p50 ${p(0.5)}  p99 ${p(0.99)}  p99.9 ${p(0.999)}  (target p99 < 1000)`);
  // What the server's quota layer runs per consumption: bigint units (decimal ×10^12), all or nothing.
  const exact = new ExactEntitlementCounters();
  const limit = 10n ** 24n;
  for (const k of keys) exact.set(k, '2025-06', 0n);
  for (let i = 0; i < SAMPLES; i += 1) {
    const t = process.hrtime.bigint();
    exact.consumeAll([{ key: keys[i % keys.length] as string, period: '2025-06', limit, amount: 10n ** 12n, hard: true }]);
    out[i] = Number(process.hrtime.bigint() - t) / 1e3;
  }
  out.sort();
  line('ExactEntitlementCounters.consumeAll (bigint)', `p50 ${p(0.5)}  p99 ${p(0.99)}  p99.9 ${p(0.999)}  (target p99 < 1000)`);
}

console.log(`@tally/limiter benchmark — node ${process.version}, ${new Date().toISOString()}`);
await memory();
entitlement();
try {
  await redis();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  // The Redis is shared: remove this run's keys even when a section failed.
  const admin = await ready(createRedisClient(REDIS_URL));
  const keys = await admin.keys(`${RUN}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  admin.disconnect();
  process.exit(process.exitCode ?? 0);
}
