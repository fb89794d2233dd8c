import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { reconcileRollupsJob } from '../audit/reconcile-rollups.ts';
import type { TallyConfig } from '../config/schema.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { DistributedBackends } from '../pipeline/distributed.ts';
import type { Clock } from '../shared/time.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import { ClickHouseJobRunRepo } from './clickhouse/clickhouse-run-repo.ts';
import { DuckDbJobRunRepo } from './duckdb/duckdb-run-repo.ts';
import { MemoryLeaseStore } from './memory/memory-lease-store.ts';
import { RedisLeaseStore } from './redis/redis-lease-store.ts';
import type { JobRunRepo } from './run-repo.ts';
import { JobRunner } from './runner.ts';

/** What the jobs of this build need. */
export interface JobDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded?: DuckDbStore | undefined;
  distributed?: DistributedBackends | undefined;
  meters: MeterRegistry;
  queries: QueryService;
  clock: Clock;
  metrics: Registry;
}

/**
 * The job runner of this node with every job registered, its run records in the profile's
 * store (DuckDB file or ClickHouse) and its leases in memory (the one embedded process) or
 * Redis (once across the distributed nodes). Scheduled jobs start ticking; crashed runs resume.
 */
export async function startJobs(d: JobDeps): Promise<{ runner: JobRunner; close(): Promise<void> }> {
  let repo: JobRunRepo;
  if (d.distributed) repo = await ClickHouseJobRunRepo.open({ url: d.config.distributed.clickhouseUrl, database: d.config.distributed.clickhouseDatabase });
  else repo = await DuckDbJobRunRepo.open(await d.embedded!.connect());
  const leases = d.distributed ? new RedisLeaseStore(d.distributed.redis, `${d.config.distributed.redisPrefix}:jobs`) : new MemoryLeaseStore();
  const runner = new JobRunner(repo, leases, { node: `${hostname()}:${process.pid}`, clock: d.clock, metrics: d.metrics });
  runner.register(reconcileRollupsJob(d.store, d.meters, d.queries));
  await runner.start();
  return {
    runner,
    close: async () => {
      await runner.stop();
      await repo.close();
    },
  };
}
