import { rmSync } from 'node:fs';
import type { AlertStore } from '../../alerts/store.ts';
import { archivedDays, partitionDir } from '../../audit/archive/manifest.ts';
import { archiveDirOf } from '../../audit/setup.ts';
import type { TallyConfig } from '../../config/schema.ts';
import type { JobDefinition } from '../../jobs/job.ts';
import type { DistributedBackends } from '../../pipeline/distributed.ts';
import { MICROS_PER_MS, formatMicros, type EpochMicros } from '../../shared/time.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../../store/port.ts';
import type { AccessLogRepo } from '../access-log/repo.ts';
import { ClickHouseRetention } from './clickhouse/clickhouse-retention.ts';
import { DuckDbRetention } from './duckdb/duckdb-retention.ts';
import type { RetentionStore } from './port.ts';
import { RetentionService, retentionJob, type RetentionTarget } from './service.ts';

/** The access log's retention: drops chain heads behind a checkpoint (access-log/repo.ts). */
export function accessLogTarget(repo: AccessLogRepo): RetentionTarget {
  return { tier: 'accessLog', drop: (cutoff, dryRun) => repo.dropBefore(cutoff, dryRun) };
}

/**
 * The archive's retention: whole `date=YYYY-MM-DD` partitions (files and manifest) of ingest
 * days that ended before the cutoff. A partition is immutable while kept; retention removes it
 * whole, never rewrites it.
 */
export function archiveTarget(root: string): RetentionTarget {
  return {
    tier: 'archive',
    async drop(cutoff: EpochMicros, dryRun: boolean) {
      const last = formatMicros(cutoff).slice(0, 10);
      const days = archivedDays(root).filter((d) => d < last);
      if (!dryRun) for (const d of days) rmSync(partitionDir(root, d), { recursive: true, force: true });
      return { partitions: days.length, ...(days.length > 0 ? { from: days[0], to: days.at(-1) } : {}) };
    },
  };
}

/** Alert history's retention (alerts/store.ts `dropHistory`). */
export function alertsTarget(store: AlertStore): RetentionTarget {
  return { tier: 'alerts', drop: async (cutoff, dryRun) => ({ records: await store.dropHistory(cutoff, dryRun) }) };
}

/** The profile's retention store: DuckDB file or ClickHouse database. */
export function retentionStoreFor(config: TallyConfig, embedded: DuckDbStore | undefined, distributed: DistributedBackends | undefined): RetentionStore {
  return distributed ? new ClickHouseRetention(distributed.clickhouse, config.distributed.clickhouseDatabase) : new DuckDbRetention(embedded!);
}

/** Retention of this server: the service (for the API and CLI) and its job. */
export function openRetention(d: { config: TallyConfig; store: UsageStore; embedded?: DuckDbStore | undefined; distributed?: DistributedBackends | undefined; accessLog?: AccessLogRepo; alerts?: AlertStore }): { service: RetentionService; job: JobDefinition } {
  const targets: RetentionTarget[] = [archiveTarget(archiveDirOf(d.config))];
  if (d.accessLog) targets.push(accessLogTarget(d.accessLog));
  if (d.alerts) targets.push(alertsTarget(d.alerts));
  const service = new RetentionService({
    config: d.config.retention,
    ingest: { backfillDays: d.config.ingest.backfillDays, maxFutureMicros: d.config.ingest.maxFutureSeconds * 1000 * MICROS_PER_MS },
    store: retentionStoreFor(d.config, d.embedded, d.distributed),
    meta: d.store,
    targets,
  });
  return { service, job: retentionJob(service, d.config.retention.schedule) };
}
