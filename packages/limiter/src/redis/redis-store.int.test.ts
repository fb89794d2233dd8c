import { randomUUID } from 'node:crypto';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../contract/store-contract.ts';
import { createRedisClient } from './client.ts';
import { RedisStore } from './redis-store.ts';
import type { Policy } from '../types.ts';

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
