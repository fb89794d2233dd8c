import { randomUUID } from 'node:crypto';
import { createRedisClient } from '@tally/limiter';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { SCALE } from '../../shared/decimal.ts';
import type { CounterItem, EnforcementMode, FailurePolicyName } from '../counters.ts';
import { RedisQuotaCounters } from '../redis/redis-counters.ts';
import { DistributedQuotaCounters } from './distributed-counters.ts';

const available = await serviceAvailable('Redis', '127.0.0.1', 6379);
const client = available ? createRedisClient('redis://127.0.0.1:6379', { enableOfflineQueue: true }) : undefined;
const prefix = `tally-test-dq-${randomUUID()}`;
const opened: DistributedQuotaCounters[] = [];

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  if (client === undefined) return;
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
  client.disconnect();
});

/** One "node": its own DistributedQuotaCounters over the shared Redis, on an injected clock (ms). */
function node(clock: { ms: number }, redis = client!, o: Partial<{ leaseMs: number; syncMs: number }> = {}): DistributedQuotaCounters {
  const c = new DistributedQuotaCounters(new RedisQuotaCounters(redis, { prefix }), { nowMicros: () => clock.ms * 1000 }, { syncMs: o.syncMs ?? 3_600_000, leaseMs: o.leaseMs ?? 1_000, leaseChunkPermille: 100, failOpenMs: 5_000 });
  opened.push(c);
  return c;
}

const item = (tenant: string, mode: EnforcementMode, limit: number, failurePolicy: FailurePolicyName = 'closed', meter = 'calls'): CounterItem => ({ tenant, meter, period: 0, limit: BigInt(limit) * SCALE, amount: SCALE, hard: true, mode, failurePolicy });

describe.skipIf(!available)('DistributedQuotaCounters (nodes in one process, real Redis)', () => {
  it('leased: three nodes never pass the limit together; lapsed leases come back', async () => {
    const clock = { ms: 1_000 };
    const nodes = [node(clock), node(clock), node(clock)];
    const tenant = `t-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => nodes[i % 3]!.consumeAll([item(tenant, 'leased', 100)])));
    const granted = answers.filter((a) => a.recorded).length;
    // Denied only when Redis had nothing left: what is missing sits unspent in the other nodes' leases (≤ N × chunk).
    expect(granted).toBeLessThanOrEqual(100);
    expect(100 - granted).toBeLessThanOrEqual(3 * 10);
    expect(answers.every((a) => a.decidedBy.by === 'counters' && a.decidedBy.mode === 'leased')).toBe(true);
    clock.ms += 1_001;
    await Promise.all(nodes.map((n) => n.sweepLeases()));
    const more = await Promise.all(Array.from({ length: 50 }, () => nodes[1]!.consumeAll([item(tenant, 'leased', 100)])));
    expect(granted + more.filter((a) => a.recorded).length).toBe(100);
  });

  it('local: each node admits on its own view and the sync makes every admission count once', async () => {
    const clock = { ms: 1_000 };
    const [a, b] = [node(clock), node(clock)];
    const tenant = `t-${randomUUID()}`;
    const onA = await Promise.all(Array.from({ length: 15 }, () => a!.consumeAll([item(tenant, 'local', 10)])));
    const onB = await Promise.all(Array.from({ length: 15 }, () => b!.consumeAll([item(tenant, 'local', 10)])));
    // Before a sync, each node saw only itself: 10 + 10 admitted (overshoot 10 = (N − 1) × what remained).
    expect([onA.filter((r) => r.recorded).length, onB.filter((r) => r.recorded).length]).toEqual([10, 10]);
    await a!.close();
    await b!.close();
    expect(await a!.redis.usages([{ tenant, meter: 'calls', period: 0 }])).toEqual([20n * SCALE]);
  });

  it('a call across modes is all or nothing: a central denial gives back the leased and local parts', async () => {
    const clock = { ms: 1_000 };
    const n = node(clock);
    const tenant = `t-${randomUUID()}`;
    const parts = (central: number) => [item(tenant, 'leased', 100, 'closed', 'a'), item(tenant, 'local', 100, 'closed', 'b'), item(tenant, 'central', central, 'closed', 'c')];
    expect((await n.consumeAll(parts(1))).recorded).toBe(true);
    const denied = await n.consumeAll(parts(1));
    expect(denied).toMatchObject({ recorded: false, decidedBy: { by: 'counters', mode: 'central' } });
    const keys = ['a', 'b', 'c'].map((meter) => ({ tenant, meter, period: 0 }));
    expect(await n.usages(keys)).toEqual([SCALE, SCALE, SCALE]);
  });

  it('Redis unreachable: each failure policy decides, open-then-closed by the injected clock, and nothing throws', async () => {
    const dead = createRedisClient('redis://127.0.0.1:1', { lazyConnect: true });
    const clock = { ms: 1_000 };
    const n = node(clock, dead);
    const tenant = `t-${randomUUID()}`;
    const one = (policy: FailurePolicyName, mode: EnforcementMode = 'central') => n.consumeAll([item(tenant, mode, 10, policy)]);
    expect(await one('open-then-closed')).toMatchObject({ recorded: true, decidedBy: { by: 'failure-policy', policy: 'open-then-closed' } });
    expect(await one('open', 'leased')).toMatchObject({ recorded: true, decidedBy: { by: 'failure-policy', policy: 'open' } });
    expect(await one('closed', 'local')).toMatchObject({ recorded: false, decidedBy: { by: 'failure-policy', policy: 'closed' } });
    clock.ms += 4_999;
    expect((await one('open-then-closed')).recorded).toBe(true);
    clock.ms += 1;
    expect(await one('open-then-closed')).toMatchObject({ recorded: false, decidedBy: { by: 'failure-policy', policy: 'open-then-closed' } });
    // A mixed call is admitted only when every item's policy admits; the denying one is named.
    expect(await n.consumeAll([item(tenant, 'central', 10, 'open'), item(tenant, 'central', 10, 'closed', 'x')])).toMatchObject({ recorded: false, decidedBy: { policy: 'closed' } });
    expect(await n.usages([{ tenant, meter: 'calls', period: 0 }])).toEqual([0n]);
    await n.add([{ tenant, meter: 'calls', period: 0, delta: SCALE }]); // kept for later, not thrown
    expect(n.outage.failures).toBeGreaterThan(0);
    dead.disconnect();
  });
});
