import type { DuckDBConnection } from '@duckdb/node-api';
import { int } from '../../store/duckdb/sql.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { ArchiveFileKind } from './manifest.ts';
import { ARCHIVE_COLUMNS, copyToParquet, kindFilter, tenantBucketSql } from './parquet.ts';
import type { ArchiveSource, WrittenFile } from './source.ts';

/** The embedded store's raw table, copied to Parquet by DuckDB itself (a connection on the store's instance). */
export class DuckDbArchiveSource implements ArchiveSource {
  readonly engine = 'duckdb';
  constructor(private readonly conn: DuckDBConnection) {}

  writeParquet(kind: ArchiveFileKind, from: EpochMicros, to: EpochMicros, file: string, bucket?: { index: number; of: number }): Promise<WrittenFile> {
    const inBucket = bucket ? ` AND ${tenantBucketSql(bucket.of)} = ${int(bucket.index)}` : '';
    return copyToParquet(this.conn, `SELECT ${ARCHIVE_COLUMNS} FROM events WHERE ingested_us >= ${int(from)} AND ingested_us < ${int(to)} AND ${kindFilter(kind)}${inBucket}`, file);
  }

  async countIngested(from: EpochMicros, to: EpochMicros): Promise<Record<ArchiveFileKind, number>> {
    const [r] = (await this.conn.runAndReadAll(`SELECT count(*) FILTER (WHERE ${kindFilter('events')}), count(*) FILTER (WHERE ${kindFilter('corrections')}) FROM events WHERE ingested_us >= ${int(from)} AND ingested_us < ${int(to)}`)).getRows();
    return { events: Number(r![0] as bigint), corrections: Number(r![1] as bigint) };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
