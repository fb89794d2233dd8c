import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { EventRecord } from '../../events/event.ts';
import { int } from '../../store/sql-int.ts';
import type { EpochMicros } from '../../shared/time.ts';
import { archivedDays, partitionDir, readManifest } from './manifest.ts';
import { ARCHIVE_COLUMNS, rowToEvent, sqlString, tenantBucket } from './parquet.ts';
import { verifyArchive } from './verify.ts';

/**
 * The files of the archive that can hold events with time in [from, to) (pruned by the
 * manifests' time ranges) — of one tenant's bucket only, in tenant-sharded partitions, when
 * `tenant` is given.
 */
export function filesFor(root: string, from: EpochMicros, to: EpochMicros, tenant?: string): string[] {
  const files: string[] = [];
  for (const date of archivedDays(root)) {
    const m = readManifest(root, date);
    if (!m) continue;
    const bucket = tenant !== undefined && m.tenantBuckets ? tenantBucket(tenant, m.tenantBuckets) : undefined;
    for (const f of m.files) {
      if (bucket !== undefined && f.bucket !== bucket) continue;
      if (f.rows > 0 && f.minTimeUs! < to && f.maxTimeUs! >= from) files.push(join(partitionDir(root, date), f.file));
    }
  }
  return files;
}

/**
 * The archived raw rows (events and corrections) with event time in [from, to), of one tenant
 * when `tenant` is given, in pages. The partitions read are verified first — the files read
 * re-hashed and re-counted, the others of the partition only checked for presence — so replay
 * never rebuilds from a tampered archive, and one tenant's read of a sharded archive opens its
 * own files only.
 */
export async function* readArchive(root: string, from: EpochMicros, to: EpochMicros, page = 10_000, tenant?: string): AsyncIterable<EventRecord[]> {
  const files = filesFor(root, from, to, tenant);
  if (files.length === 0) return;
  const dates = [...new Set(files.map((f) => /date=(\d{4}-\d{2}-\d{2})/.exec(f)![1]!))].sort();
  // Every file of the partitions read (of the tenant's bucket, when sharded) is re-hashed, the empty ones too.
  const checked = new Set(dates.flatMap((date) => {
    const m = readManifest(root, date)!;
    const bucket = tenant !== undefined && m.tenantBuckets ? tenantBucket(tenant, m.tenantBuckets) : undefined;
    return m.files.filter((f) => bucket === undefined || f.bucket === bucket).map((f) => join(partitionDir(root, date), f.file));
  }));
  const bad = (await verifyArchive(root, { fromDate: dates[0]!, toDate: dates[dates.length - 1]!, only: checked })).filter((c) => c.problems.length > 0 && dates.includes(c.date));
  if (bad.length > 0) throw new Error(`the archive fails verification (${bad.map((c) => `${c.date}: ${c.problems.map((p) => `${p.file} ${p.problem}`).join(', ')}`).join('; ')}); run tally archive verify`);
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const only = tenant !== undefined ? ` AND tenant = ${sqlString(tenant)}` : '';
    const result = await conn.stream(`SELECT ${ARCHIVE_COLUMNS} FROM read_parquet([${files.map(sqlString).join(', ')}]) WHERE time_us >= ${int(from)} AND time_us < ${int(to)}${only}`);
    let buf: EventRecord[] = [];
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const r of chunk.getRows()) buf.push(rowToEvent(r));
      if (buf.length >= page) {
        yield buf;
        buf = [];
      }
    }
    if (buf.length > 0) yield buf;
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}
