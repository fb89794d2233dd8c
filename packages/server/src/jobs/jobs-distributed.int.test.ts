import { randomBytes } from 'node:crypto';
import { serviceAvailable } from '@tally/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../store/clickhouse/testing.ts';
import { ClickHouseJobRunRepo } from './clickhouse/clickhouse-run-repo.ts';
import { runLeaseContract } from './lease-contract.ts';
import { RedisLeaseStore } from './redis/redis-lease-store.ts';
import { runJobRunRepoContract } from './run-repo-contract.ts';
import { JobRunner } from './runner.ts';

const CH = 'http://127.0.0.1:8123';
const available = (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));
const created: string[] = [];
const redis = available ? new Redis('redis://127.0.0.1:6379') : undefined;

afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
  redis?.disconnect();
});

async function chRepo(): Promise<ClickHouseJobRunRepo> {
  const database = await createDatabase(CH, 'jobs');
  created.push(database);
  return ClickHouseJobRunRepo.open({ url: CH, database });
}
const prefix = () => `tally-test-jobs-${randomBytes(4).toString('hex')}`;

describe.skipIf(!available)('jobs on the distributed profile (Redis leases, ClickHouse runs)', () => {
  runLeaseContract('Redis', async () => new RedisLeaseStore(redis!, prefix()));
  runJobRunRepoContract('ClickHouse', chRepo);

  it('three nodes asked to run the same job at once: exactly one runs it, once', async () => {
    const repo = await chRepo();
    const p = prefix();
    const clock = { nowMicros: () => Date.now() * 1000 };
    let runs = 0;
    const nodes = ['api-1', 'api-2', 'worker-1'].map((node) => {
      const r = new JobRunner(repo, new RedisLeaseStore(redis!, p), { node, clock });
      r.register({ name: 'invoice', description: 'test', run: async (ctx) => {
        runs++;
        await new Promise((res) => setTimeout(res, 200));
        await ctx.assertHeld();
        return { node, range: ctx.range };
      } });
      return r;
    });
    const outcomes = await Promise.all(nodes.map((n) => n.run('invoice', '2026-11')));
    expect(outcomes.filter((o) => o.ran)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ran).map((o) => (o.ran ? '' : o.reason))).toEqual(['busy', 'busy']);
    // Later asks see the recorded success and do not run it again, whichever node asks.
    for (const n of nodes) expect(await n.run('invoice', '2026-11')).toMatchObject({ ran: false, reason: 'done' });
    expect(runs).toBe(1);
    expect((await repo.list({ key: 'invoice:2026-11' })).map((r) => r.status)).toEqual(['succeeded']);
    await repo.close();
  });
});
