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
import type { JobDefinition } from './job.ts';
import type { LeaseStore } from './lease-store.ts';
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
  leases: LeaseStore;
  /** Jobs of other domains (billing's invoices…), registered beside the audit jobs. */
  jobs: readonly JobDefinition[];
}

/** The profile's leases: memory (the one embedded process) or Redis (once across nodes). */
export function leaseStoreFor(config: TallyConfig, distributed: DistributedBackends | undefined): LeaseStore {
  return distributed ? new RedisLeaseStore(distributed.redis, `${config.distributed.redisPrefix}:jobs`) : new MemoryLeaseStore();
}

/**
 * The job runner of this node with every job registered, its run records in the profile's
 * store (DuckDB file or ClickHouse) and its leases from `leaseStoreFor`. Scheduled jobs start ticking; crashed runs resume.
 */
export async function startJobs(d: JobDeps): Promise<{ runner: JobRunner; close(): Promise<void> }> {
  let repo: JobRunRepo;
  if (d.distributed) repo = await ClickHouseJobRunRepo.open({ url: d.config.distributed.clickhouseUrl, database: d.config.distributed.clickhouseDatabase });
  else repo = await DuckDbJobRunRepo.open(await d.embedded!.connect());
  const runner = new JobRunner(repo, d.leases, { node: `${hostname()}:${process.pid}`, clock: d.clock, metrics: d.metrics });
  runner.register(reconcileRollupsJob(d.store, d.meters, d.queries));
  for (const job of d.jobs) runner.register(job);
  await runner.start();
  return {
    runner,
    close: async () => {
      await runner.stop();
      await repo.close();
    },
  };
}
