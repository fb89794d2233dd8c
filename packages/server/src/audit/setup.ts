import { join, resolve } from 'node:path';
import type { TallyConfig } from '../config/schema.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { JobDefinition } from '../jobs/job.ts';
import type { Clock } from '../shared/time.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import { archiveJob } from './archive/archive-job.ts';
import { ClickHouseArchiveSource } from './archive/clickhouse-source.ts';
import { DuckDbArchiveSource } from './archive/duckdb-source.ts';
import type { ArchiveSource } from './archive/source.ts';
import { CorrectionService } from './corrections/correction-service.ts';

/** What the HTTP edge needs from the audit domain. */
export interface AuditHttp {
  corrections: CorrectionService;
}

/** Everything the audit domain needs, already wired by `startTally`. */
export interface AuditDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded: DuckDbStore | undefined;
  ingest: IngestService;
  clock: Clock;
}

/** The audit domain of a running node: its HTTP services, its jobs, and how to close it. */
export interface Audit extends AuditHttp {
  archiveDir: string;
  archive: ArchiveSource;
  jobs: JobDefinition[];
  close(): Promise<void>;
}

/** The archive directory of a config: `audit.archiveDir`, or `<store.dataDir>/archive`. */
export function archiveDirOf(config: TallyConfig): string {
  return resolve(config.audit.archiveDir ?? join(config.store.dataDir, 'archive'));
}

/** The profile's archive source: the embedded DuckDB itself, or ClickHouse through an embedded DuckDB. */
export async function archiveSourceFor(config: TallyConfig, embedded: DuckDbStore | undefined): Promise<ArchiveSource> {
  if (embedded) return new DuckDbArchiveSource(await embedded.connect());
  return ClickHouseArchiveSource.open(config.distributed.clickhouseUrl, config.distributed.clickhouseDatabase);
}

/** Wires the audit domain: corrections, the archive job (reconciliation and canaries join here). */
export async function openAudit(d: AuditDeps): Promise<Audit> {
  const archiveDir = archiveDirOf(d.config);
  const archive = await archiveSourceFor(d.config, d.embedded);
  return {
    corrections: new CorrectionService(d.store, d.ingest, d.clock),
    archiveDir,
    archive,
    jobs: [archiveJob(archive, archiveDir)],
    close: () => archive.close(),
  };
}
