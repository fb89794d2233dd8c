import type { EpochMicros } from '../../shared/time.ts';
import type { ArchiveFileKind } from './manifest.ts';

/** Rows and event-time range of one written file. */
export interface WrittenFile {
  rows: number;
  minTimeUs: number | null;
  maxTimeUs: number | null;
}

/**
 * Where the archive reads raw rows from (the profile's raw table) and how it turns them into
 * Parquet: DuckDB copies its own table; ClickHouse rows are written by an embedded DuckDB.
 * Implementations: `duckdb-source.ts`, `clickhouse-source.ts`.
 */
export interface ArchiveSource {
  readonly engine: string;
  /**
   * Writes the raw rows of `kind` ingested in [from, to) to a Parquet file — only those of the
   * tenants in bucket `bucket.index` of `bucket.of` when given (parquet.ts `tenantBucket`).
   */
  writeParquet(kind: ArchiveFileKind, from: EpochMicros, to: EpochMicros, file: string, bucket?: { index: number; of: number }): Promise<WrittenFile>;
  /** Raw rows ingested in [from, to) now (both kinds): what the reconciliation compares manifests with. */
  countIngested(from: EpochMicros, to: EpochMicros): Promise<Record<ArchiveFileKind, number>>;
  close(): Promise<void>;
}
