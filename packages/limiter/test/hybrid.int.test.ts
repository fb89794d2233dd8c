import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { HybridLimiter } from '../src/hybrid/hybrid-limiter.ts';
import { Limiter } from '../src/limiter.ts';
import { createRedisClient } from '../src/redis/client.ts';
import { RedisStore } from '../src/redis/redis-store.ts';
import type { Algorithm, Policy } from '../src/types.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const available = await serviceAvailable('Redis', '127.0.0.1', 6379);
const prefix = `tally-test:${randomUUID()}:`;
const clients: ReturnType<typeof createRedisClient>[] = [];

afterAll(async () => {
  if (!available) return;
  const admin = clients[0];
  if (admin !== undefined) {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  }
  for (const c of clients) c.disconnect();
});

describe.skipIf(!available)('hybrid leasing against real Redis: 3 nodes, own connections, one key', () => {
  for (const algorithm of ['fixed-window', 'gcra', 'sliding-log'] as Algorithm[]) {
    it(`${algorithm}: never more than the limit in total; unused leases bounded by nodes × chunk`, async () => {
      const LIMIT = 500;
      const CHUNK = 20;
      const policies: Policy[] = [{ name: 'p', algorithm, limit: LIMIT, windowMs: 86_400_000 }];
      const nodes = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const redis = createRedisClient(REDIS_URL);
          clients.push(redis);
          if (redis.status !== 'ready') await once(redis, 'ready');
          const limiter = new Limiter({ store: new RedisStore({ redis, prefix }), policies, failure: { mode: 'fail-closed' }, timeoutMs: 2_000 });
          return new HybridLimiter({ limiter, chunk: CHUNK, leaseMs: 60_000 });
        }),
      );
      const key = `h-${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 3 * LIMIT }, (_, i) => (nodes[i % 3] as HybridLimiter).limit(key)));
      expect(results.every((r) => r.ok)).toBe(true);
      const admitted = results.filter((r) => r.allowed).length;
      const held = nodes.reduce((a, n) => a + n.held(key), 0);
      expect(admitted).toBeLessThanOrEqual(LIMIT);
      expect(admitted + held).toBe(LIMIT); // every globally consumed unit was admitted or is still held
      expect(held).toBeLessThanOrEqual(3 * CHUNK);
    });
  }
});
