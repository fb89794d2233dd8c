import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { archivedDays, partitionDir, readManifest, sha256File, writeManifest } from '../../audit/archive/manifest.ts';
import { ARCHIVE_COLUMNS, parquetStats, sqlString } from '../../audit/archive/parquet.ts';
import { formatMicros, type EpochMicros } from '../../shared/time.ts';

/**
 * Removes the actor `hashes` from every archived Parquet file that holds them: the file is
 * rewritten (same rows, same order, the actor NULL where it matched) beside the old one, the
 * manifest gets the new size and SHA-256 plus a `rewrites` entry naming the erasure and the
 * previous SHA-256, and the new file is renamed over the old. `tally archive verify` checks
 * the new hashes, so it passes, and the manifest says what changed and why: the one sanctioned
 * rewrite of an archived partition.
 */
export async function eraseFromArchive(root: string, hashes: readonly string[], erasure: string, now: EpochMicros, beforeCommit: () => Promise<void>): Promise<{ rows: number; partitions: number }> {
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  const list = hashes.map(sqlString).join(', ');
  let rows = 0;
  let partitions = 0;
  try {
    for (const date of archivedDays(root)) {
      const m = readManifest(root, date);
      if (!m) continue;
      let touched = false;
      for (const f of m.files) {
        const path = join(partitionDir(root, date), f.file);
        if (!existsSync(path)) continue;
        const [hit] = (await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(path)}) WHERE actor IN (${list})`)).getRows();
        const n = Number(hit![0] as bigint);
        if (n === 0) continue;
        const tmp = `${path}.erasure.tmp`;
        const cols = ARCHIVE_COLUMNS.split(', ').map((c) => (c === 'actor' ? `CASE WHEN actor IN (${list}) THEN NULL ELSE actor END AS actor` : c));
        // The archive writer's order and settings: the same rows make the same bytes.
        await conn.run(`COPY (SELECT ${cols.join(', ')} FROM read_parquet(${sqlString(path)}) ORDER BY ingested_us, tenant, id) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
        const stats = await parquetStats(conn, [tmp]);
        if (stats.rows !== f.rows) {
          rmSync(tmp, { force: true });
          throw new Error(`rewriting ${date}/${f.file} gave ${stats.rows} rows, the manifest says ${f.rows}: nothing replaced`);
        }
        await beforeCommit();
        // The manifest first, then the file: after a crash between the two the old file is still
        // there, the next run of the erasure finds the actor in it and writes both again.
        const previousSha256 = m.rewrites?.find((w) => w.erasure === erasure && w.file === f.file)?.previousSha256 ?? f.sha256;
        f.sha256 = await sha256File(tmp);
        f.bytes = statSync(tmp).size;
        m.rewrites = [...(m.rewrites ?? []).filter((w) => !(w.erasure === erasure && w.file === f.file)), { reason: 'erasure', erasure, at: formatMicros(now), file: f.file, rows: n, previousSha256 }];
        writeManifest(root, m);
        renameSync(tmp, path);
        rows += n;
        touched = true;
      }
      if (touched) partitions++;
    }
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
  return { rows, partitions };
}
