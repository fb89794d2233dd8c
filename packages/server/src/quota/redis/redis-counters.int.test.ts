import { randomUUID } from 'node:crypto';
import { createRedisClient } from '@tally/limiter';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { SCALE } from '../../shared/decimal.ts';
import { describeQuotaCountersContract } from '../counters-contract.ts';
import { RedisQuotaCounters } from './redis-counters.ts';

const available = await serviceAvailable('Redis', '127.0.0.1', 6379);
const redis = available ? createRedisClient('redis://127.0.0.1:6379', { enableOfflineQueue: true }) : undefined;
const prefix = `tally-test-q-${randomUUID()}`;

afterAll(async () => {
  if (redis === undefined) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describeQuotaCountersContract('redis', (clock) => new RedisQuotaCounters(redis!, { prefix, now: () => clock.now }), !available);

describe.skipIf(!available)('RedisQuotaCounters specifics', () => {
  it("keeps a tenant's keys under one hash tag and decides boundaries by Redis server TIME", async () => {
    const counters = new RedisQuotaCounters(redis!, { prefix });
    const k = { tenant: 'acme', meter: 'calls', period: 1 };
    expect(counters.key(k)).toBe(`${prefix}:{acme}:calls:1`);
    const [sec] = await redis!.time();
    const serverUs = Number(sec) * 1_000_000;
    const tenant = `t-${randomUUID()}`;
    // The node's clock says the period is 2000 … now + 1 h, but the next one "began" a minute ago by the server's clock.
    const item = { tenant, meter: 'calls', period: 2000, next: { period: serverUs - 60_000_000, at: serverUs - 60_000_000 }, limit: 10n * SCALE, amount: SCALE, hard: true };
    expect((await counters.consumeAll([item])).periods).toEqual([serverUs - 60_000_000]);
    const later = { ...item, next: { period: serverUs + 3_600_000_000, at: serverUs + 3_600_000_000 } };
    expect((await counters.consumeAll([later])).periods).toEqual([2000]);
  });

  it('leases at most the remaining allowance and counts it at once', async () => {
    const counters = new RedisQuotaCounters(redis!, { prefix });
    const key = { tenant: `t-${randomUUID()}`, meter: 'calls', period: 0 };
    const grants = await Promise.all(Array.from({ length: 7 }, () => counters.lease([{ key, limit: 100n * SCALE, want: 15n * SCALE }])));
    expect(grants.map((g) => g[0]!.granted).reduce((a, b) => a + b, 0n)).toBe(100n * SCALE);
    expect(grants.map((g) => g[0]!.granted).sort((a, b) => Number(a - b))[0]).toBe(10n * SCALE);
    expect(await counters.usages([key])).toEqual([100n * SCALE]);
  });
});
