import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../src/redis/client.ts';
import { RedisStore } from '../src/redis/redis-store.ts';
import type { Algorithm, Policy } from '../src/types.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const available = await serviceAvailable('Redis', '127.0.0.1', 6379);
const prefix = `tally-test:${randomUUID()}:`;
const fixture = fileURLToPath(new URL('./fixtures/hammer.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const DAY = 86_400_000;
const PROCESSES = 4;
const CALLS = 300;

interface ChildResult {
  allowed: number;
  cost: number;
}

/** Starts every child, releases them together once all are connected, and sums what they admitted. */
async function storm(key: string, policies: Policy[], costs?: (p: number) => number[]): Promise<ChildResult[]> {
  const children = Array.from({ length: PROCESSES }, (_, p) => {
    const job = { url: REDIS_URL, prefix, key, policies, calls: CALLS, costs: costs?.(p) };
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(job)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return { child, lines };
  });
  for (const c of children) expect((await c.lines.next()).value).toBe('ready');
  for (const c of children) c.child.stdin.write('go\n');
  return Promise.all(children.map(async (c) => JSON.parse((await c.lines.next()).value as string) as ChildResult));
}

afterAll(async () => {
  if (!available) return;
  const redis = createRedisClient(REDIS_URL, { enableOfflineQueue: true });
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe.skipIf(!available)(`exactness under concurrency: ${PROCESSES} processes × ${CALLS} in-flight calls on one key`, () => {
  // Windows of a day (or longer) so no refill or window boundary can happen during the storm.
  const exact: [Algorithm, number][] = [
    ['sliding-log', DAY],
    ['gcra', DAY],
    ['fixed-window', 2 ** 40],
  ];
  for (const [algorithm, windowMs] of exact) {
    it(`${algorithm}: exactly limit admitted`, async () => {
      const results = await storm(`k-${randomUUID()}`, [{ name: 'p', algorithm, limit: 137, windowMs }]);
      expect(results.reduce((a, r) => a + r.allowed, 0)).toBe(137);
    });
  }

  it('weighted multi-policy: all or nothing, every policy consumed by exactly the admitted cost', async () => {
    const policies: Policy[] = [
      { name: 'burst', algorithm: 'gcra', limit: 400, windowMs: DAY },
      { name: 'log', algorithm: 'sliding-log', limit: 250, windowMs: DAY },
      { name: 'fixed', algorithm: 'fixed-window', limit: 1_000, windowMs: 2 ** 40 },
    ];
    const key = `m-${randomUUID()}`;
    const results = await storm(key, policies, (p) => Array.from({ length: CALLS }, (_, i) => 1 + ((p * 7 + i * 13) % 3)));
    const admittedCost = results.reduce((a, r) => a + r.cost, 0);
    expect(admittedCost).toBeLessThanOrEqual(250);
    expect(admittedCost).toBeGreaterThanOrEqual(248); // the tightest policy fills up to within one max cost
    const redis = createRedisClient(REDIS_URL, { enableOfflineQueue: true });
    const after = await new RedisStore({ redis, prefix }).apply({ key, policies, cost: 0, mode: 'peek' });
    redis.disconnect();
    // A denied call that had consumed from some policies would make these disagree.
    expect(after.states.map((s) => s.remaining)).toEqual([400 - admittedCost, 250 - admittedCost, 1_000 - admittedCost]);
  });
});
