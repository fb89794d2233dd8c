import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { int } from '../../store/sql-int.ts';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import { CORRECTION_TYPE } from '../corrections/correction.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { ArchiveFileKind } from './manifest.ts';
import { ARCHIVE_COLUMNS, ARCHIVE_TABLE_DDL, copyToParquet, tenantBucketSql } from './parquet.ts';
import type { ArchiveSource, WrittenFile } from './source.ts';

/** ClickHouse's filter of one file kind (SQL that also runs on 18.16). */
function chKind(kind: ArchiveFileKind): string {
  return kind === 'corrections' ? `type = ${lit(CORRECTION_TYPE)}` : `type != ${lit(CORRECTION_TYPE)}`;
}

/**
 * The distributed profile's raw table: rows are streamed out of ClickHouse (TabSeparated, exact)
 * into an embedded in-memory DuckDB, which writes the Parquet file exactly as the embedded
 * profile does.
 */
export class ClickHouseArchiveSource implements ArchiveSource {
  readonly engine = 'clickhouse';
  /** What the staged table holds (kind and range): the buckets of one file kind share one read of ClickHouse. */
  private staged: string | undefined;

  private constructor(
    private readonly client: ClickHouseClient,
    private readonly duck: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** Connects to `database` on `url`. */
  static async open(url: string, database: string): Promise<ClickHouseArchiveSource> {
    const client = createClient({ url, database, request_timeout: 600_000, log: { level: ClickHouseLogLevel.OFF } });
    const duck = await DuckDBInstance.create(':memory:');
    return new ClickHouseArchiveSource(client, duck, await duck.connect());
  }

  async writeParquet(kind: ArchiveFileKind, from: EpochMicros, to: EpochMicros, file: string, bucket?: { index: number; of: number }): Promise<WrittenFile> {
    const key = `${kind}:${from}:${to}`;
    if (this.staged !== key) await this.stage(kind, from, to, key);
    const inBucket = bucket ? ` WHERE ${tenantBucketSql(bucket.of)} = ${int(bucket.index)}` : '';
    return copyToParquet(this.conn, `SELECT ${ARCHIVE_COLUMNS} FROM staged${inBucket}`, file);
  }

  /** Copies the rows of `kind` ingested in [from, to) from ClickHouse into the DuckDB table `staged`. */
  private async stage(kind: ArchiveFileKind, from: EpochMicros, to: EpochMicros, key: string): Promise<void> {
    this.staged = undefined;
    await this.conn.run('DROP TABLE IF EXISTS staged');
    await this.conn.run(ARCHIVE_TABLE_DDL('staged'));
    const appender = await this.conn.createAppender('staged');
    const rs = await this.client.query({ query: `SELECT ${ARCHIVE_COLUMNS} FROM events WHERE ingested_us >= ${int(from)} AND ingested_us < ${int(to)} AND ${chKind(kind)}`, format: 'TabSeparated' });
    for await (const rows of rs.stream()) {
      for (const row of rows as { text: string }[]) {
        const c = parseTsv(row.text)[0]!;
        appender.appendVarchar(c[0]!);
        appender.appendVarchar(c[1]!);
        appender.appendVarchar(c[2]!);
        appender.appendVarchar(c[3]!);
        appender.appendBigInt(BigInt(c[4]!));
        if (c[5] === null) appender.appendNull();
        else appender.appendVarchar(c[5]!);
        appender.appendVarchar(c[6]!);
        appender.appendVarchar(c[7]!);
        appender.appendBigInt(BigInt(c[8]!));
        appender.endRow();
      }
    }
    appender.flushSync();
    appender.closeSync();
    this.staged = key;
  }

  async countIngested(from: EpochMicros, to: EpochMicros): Promise<Record<ArchiveFileKind, number>> {
    const text = await (await this.client.query({ query: `SELECT countIf(${chKind('events')}), countIf(${chKind('corrections')}) FROM events WHERE ingested_us >= ${int(from)} AND ingested_us < ${int(to)}`, format: 'TabSeparated' })).text();
    const [r] = parseTsv(text);
    return { events: Number(r![0]), corrections: Number(r![1]) };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.duck.closeSync();
    await this.client.close();
  }
}
