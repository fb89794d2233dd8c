import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { EventRecord } from '../../events/event.ts';
import { int } from '../../store/sql-int.ts';
import type { EpochMicros } from '../../shared/time.ts';
import { archivedDays, partitionDir, readManifest } from './manifest.ts';
import { ARCHIVE_COLUMNS, rowToEvent, sqlString } from './parquet.ts';
import { verifyArchive } from './verify.ts';

/** The files of the archive that can hold events with time in [from, to) (pruned by the manifests' time ranges). */
export function filesFor(root: string, from: EpochMicros, to: EpochMicros): string[] {
  const files: string[] = [];
  for (const date of archivedDays(root)) {
    const m = readManifest(root, date);
    if (!m) continue;
    for (const f of m.files) if (f.rows > 0 && f.minTimeUs! < to && f.maxTimeUs! >= from) files.push(join(partitionDir(root, date), f.file));
  }
  return files;
}

/**
 * The archived raw rows (events and corrections) with event time in [from, to), in pages.
 * Every partition read is verified first (SHA-256 and rows): replay never rebuilds from a
 * tampered archive.
 */
export async function* readArchive(root: string, from: EpochMicros, to: EpochMicros, page = 10_000): AsyncIterable<EventRecord[]> {
  const files = filesFor(root, from, to);
  if (files.length === 0) return;
  const bad = (await verifyArchive(root)).filter((c) => c.problems.length > 0 && files.some((f) => f.startsWith(partitionDir(root, c.date))));
  if (bad.length > 0) throw new Error(`the archive fails verification (${bad.map((c) => `${c.date}: ${c.problems.map((p) => `${p.file} ${p.problem}`).join(', ')}`).join('; ')}); run tally archive verify`);
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    const result = await conn.stream(`SELECT ${ARCHIVE_COLUMNS} FROM read_parquet([${files.map(sqlString).join(', ')}]) WHERE time_us >= ${int(from)} AND time_us < ${int(to)}`);
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
