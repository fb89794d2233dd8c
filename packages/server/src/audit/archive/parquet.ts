import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { EventRecord } from '../../events/event.ts';
import { CORRECTION_TYPE } from '../corrections/correction.ts';
import type { ArchiveFileKind } from './manifest.ts';

/** The columns of every archive file, in order (the raw table's, both profiles alike). */
export const ARCHIVE_COLUMNS = 'tenant, id, type, source, time_us, actor, data, content_hash, ingested_us';

/** DDL of a table with the archive's columns. */
export const ARCHIVE_TABLE_DDL = (name: string) => `CREATE TABLE ${name} (tenant VARCHAR NOT NULL, id VARCHAR NOT NULL, type VARCHAR NOT NULL, source VARCHAR NOT NULL, time_us BIGINT NOT NULL, actor VARCHAR, data VARCHAR NOT NULL, content_hash VARCHAR NOT NULL, ingested_us BIGINT NOT NULL)`;

/**
 * The tenant bucket of a tenant among `buckets`: the first 32 bits of the MD5 of its UTF-8 name,
 * modulo `buckets` — stable across versions and computed alike here and in DuckDB
 * ({@link tenantBucketSql}), so a reader finds a tenant's files without opening the others.
 */
export function tenantBucket(tenant: string, buckets: number): number {
  return parseInt(createHash('md5').update(tenant, 'utf8').digest('hex').slice(0, 8), 16) % buckets;
}

/** {@link tenantBucket} as a DuckDB expression over the `tenant` column. */
export function tenantBucketSql(buckets: number): string {
  return `((('0x' || substr(md5(tenant), 1, 8))::UBIGINT) % ${Math.trunc(buckets)})::INTEGER`;
}

/** The archive file of a kind (and tenant bucket, when the partition is sharded). */
export function archiveFileName(kind: ArchiveFileKind, bucket?: number): string {
  return bucket === undefined ? `${kind}.parquet` : `${kind}-b${String(bucket).padStart(3, '0')}.parquet`;
}

/** A DuckDB string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The filter of one file kind on the `type` column. */
export function kindFilter(kind: ArchiveFileKind): string {
  return kind === 'corrections' ? `type = ${sqlString(CORRECTION_TYPE)}` : `type <> ${sqlString(CORRECTION_TYPE)}`;
}

/**
 * Writes `select` (rows with {@link ARCHIVE_COLUMNS}) to a Parquet file, ordered so the same
 * rows always make the same bytes, and reads back what the file holds.
 */
export async function copyToParquet(conn: DuckDBConnection, select: string, file: string): Promise<{ rows: number; minTimeUs: number | null; maxTimeUs: number | null }> {
  await conn.run(`COPY (${select} ORDER BY ingested_us, tenant, id) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
  return parquetStats(conn, [file]);
}

/** Rows and event-time range of Parquet files, as read from the files. */
export async function parquetStats(conn: DuckDBConnection, files: string[]): Promise<{ rows: number; minTimeUs: number | null; maxTimeUs: number | null }> {
  const [row] = (await conn.runAndReadAll(`SELECT count(*), min(time_us), max(time_us) FROM read_parquet([${files.map(sqlString).join(', ')}])`)).getRows();
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v as bigint));
  return { rows: Number(row![0] as bigint), minTimeUs: num(row![1]), maxTimeUs: num(row![2]) };
}

/** An archive row (as DuckDB returns it) as an event. */
export function rowToEvent(r: readonly unknown[]): EventRecord {
  const dataJson = r[6] as string;
  return { tenant: r[0] as string, id: r[1] as string, type: r[2] as string, source: r[3] as string, time: Number(r[4] as bigint), actor: (r[5] as string | null) ?? null, data: JSON.parse(dataJson) as Record<string, unknown>, dataJson, contentHash: r[7] as string };
}
