/**
 * `npm run bench:quota` — quota checks per second and latency of the three enforcement modes
 * (central, leased, local; `DistributedQuotaCounters.consumeAll`, the code POST /v1/quota/consume
 * runs) beside a bare Redis INCR round trip and rate-limiter-flexible's RateLimiterRedis, in the
 * same run against the Redis at TALLY_REDIS_URL (default redis://127.0.0.1:6379). Limits are large
 * so nothing is denied: it measures the check itself. A script, not a test.
 */
import { randomUUID } from 'node:crypto';
import { createRedisClient } from '@tally/limiter';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { CounterItem, EnforcementMode } from '../src/quota/counters.ts';
import { DistributedQuotaCounters } from '../src/quota/distributed/distributed-counters.ts';
import { RedisQuotaCounters } from '../src/quota/redis/redis-counters.ts';
import { SCALE } from '../src/shared/decimal.ts';
import { systemClock } from '../src/shared/time.ts';

const REDIS_URL = process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tally-bench-q-${randomUUID().slice(0, 8)}`;
const TENANTS = Array.from({ length: 100 }, (_, i) => `tenant-${i}`);
const OPS = Number(process.env.QUOTA_BENCH_OPS ?? 30_000);
const IN_FLIGHT = 64;
const SAMPLES = Number(process.env.QUOTA_BENCH_SAMPLES ?? 3_000);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function concurrent(ops: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < ops) await fn(next++);
  }));
  return ops / (Number(process.hrtime.bigint() - t) / 1e9);
}

/** Sequential latencies in µs, the contenders interleaved so machine load hits all alike → [p50, p99]. */
async function latencies(fns: ((i: number) => Promise<unknown>)[]): Promise<[number, number][]> {
  const out = fns.map(() => new Float64Array(SAMPLES));
  for (let i = 0; i < SAMPLES; i++) {
    for (const [f, fn] of fns.entries()) {
      const t = process.hrtime.bigint();
      await fn(i);
      out[f]![i] = Number(process.hrtime.bigint() - t) / 1e3;
    }
  }
  return out.map((o) => (o.sort(), [o[Math.floor(SAMPLES * 0.5)]!, o[Math.floor(SAMPLES * 0.99)]!]));
}

const client = createRedisClient(REDIS_URL, { lazyConnect: true });
await client.connect();
const redis = new RedisQuotaCounters(client, { prefix: PREFIX });
const counters = new DistributedQuotaCounters(redis, systemClock, { syncMs: 1000, leaseMs: 2000, leaseChunkPermille: 10, failOpenMs: 5000 });
const period = Date.UTC(2026, 11, 1) * 1000;
const item = (mode: EnforcementMode, i: number): CounterItem => ({ tenant: TENANTS[i % TENANTS.length]!, meter: `calls-${mode}`, period, limit: 100_000_000n * SCALE, amount: SCALE, hard: true, mode, failurePolicy: 'closed' });
const rlf = new RateLimiterRedis({ storeClient: client, keyPrefix: `${PREFIX}-rlf`, points: 1_000_000_000, duration: 3600 });

const contenders: [string, (i: number) => Promise<unknown>][] = [
  ['bare Redis INCR round trip', (i) => client.incr(`${PREFIX}-incr:${TENANTS[i % TENANTS.length]}`)],
  ['rate-limiter-flexible RateLimiterRedis.consume', (i) => rlf.consume(TENANTS[i % TENANTS.length]!)],
  ['quota central (1 Lua script per check)', (i) => counters.consumeAll([item('central', i)])],
  ['quota leased (chunk 1 % of the limit)', (i) => counters.consumeAll([item('leased', i)])],
  ['quota local (synced every 1 s)', (i) => counters.consumeAll([item('local', i)])],
];

try {
  console.log(`bench:quota — ${TENANTS.length} tenants, no denials, Redis ${REDIS_URL}`);
  for (const [, fn] of contenders) await concurrent(2_000, fn); // warm-up (scripts loaded, leases and local views taken)
  const rates: number[] = contenders.map(() => 0);
  for (let round = 0; round < 3; round++) for (const [i, [, fn]] of contenders.entries()) rates[i] = Math.max(rates[i]!, await concurrent(OPS, fn));
  const lat = await latencies(contenders.map(([, fn]) => fn));
  const incr = rates[0]!;
  const rlfRate = rates[1]!;
  console.log(`\n  ${'contender'.padEnd(48)} ${'checks/s'.padStart(10)} ${'vs INCR'.padStart(8)} ${'vs RLF'.padStart(8)} ${'p50 µs'.padStart(8)} ${'p99 µs'.padStart(8)}`);
  for (const [i, [name]] of contenders.entries()) {
    console.log(`  ${name.padEnd(48)} ${fmt(rates[i]!).padStart(10)} ${`${(rates[i]! / incr).toFixed(2)}×`.padStart(8)} ${`${(rates[i]! / rlfRate).toFixed(2)}×`.padStart(8)} ${fmt(lat[i]![0]).padStart(8)} ${fmt(lat[i]![1]).padStart(8)}`);
  }
  console.log(`\n  checks/s: best of 3 rounds of ${fmt(OPS)} calls, ${IN_FLIGHT} in flight; latency: ${fmt(SAMPLES)} sequential calls each, interleaved.`);
} finally {
  await counters.close();
  const keys = await client.keys(`${PREFIX}*`);
  if (keys.length > 0) await client.del(...keys);
  client.disconnect();
}
