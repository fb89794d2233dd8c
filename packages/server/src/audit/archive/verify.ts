import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { archivedDays, partitionDir, readManifest, sha256File } from './manifest.ts';
import { parquetStats } from './parquet.ts';

/** One difference between a partition and its manifest. */
export interface ArchiveProblem {
  date: string;
  file: string;
  problem: 'manifest missing' | 'file missing' | 'sha256 differs' | 'rows differ' | 'time range differs' | 'unreadable' | 'file not in manifest';
  expected?: string | number;
  actual?: string | number;
}

/** The verification of one partition. */
export interface PartitionCheck {
  date: string;
  rows: number;
  files: number;
  problems: ArchiveProblem[];
}

/**
 * Re-hashes and re-counts every file of the partitions in [fromDate, toDate] (all when absent)
 * against their manifests: a changed, removed or added file, or a manifest that lost its
 * partition, is a problem with the expected and actual value. `onPartition` reports progress.
 */
export async function verifyArchive(root: string, opts: { fromDate?: string; toDate?: string; onPartition?: (c: PartitionCheck) => void; only?: ReadonlySet<string> } = {}): Promise<PartitionCheck[]> {
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  const checks: PartitionCheck[] = [];
  try {
    for (const date of archivedDays(root)) {
      if ((opts.fromDate && date < opts.fromDate) || (opts.toDate && date > opts.toDate)) continue;
      const m = readManifest(root, date);
      const dir = partitionDir(root, date);
      const check: PartitionCheck = { date, rows: 0, files: 0, problems: [] };
      checks.push(check);
      if (!m) {
        check.problems.push({ date, file: 'manifest.json', problem: 'manifest missing' });
        opts.onPartition?.(check);
        continue;
      }
      const listed = new Set(m.files.map((f) => f.file));
      for (const name of readdirSync(dir)) if (name !== 'manifest.json' && !listed.has(name)) check.problems.push({ date, file: name, problem: 'file not in manifest' });
      for (const f of m.files) {
        const path = join(dir, f.file);
        if (!existsSync(path)) {
          check.problems.push({ date, file: f.file, problem: 'file missing', expected: f.rows, actual: 0 });
          continue;
        }
        check.files++;
        // A partial check (a reader's own files): the others only need to be there.
        if (opts.only && !opts.only.has(path)) continue;
        const sha = await sha256File(path);
        if (sha !== f.sha256) check.problems.push({ date, file: f.file, problem: 'sha256 differs', expected: f.sha256, actual: sha });
        try {
          const s = await parquetStats(conn, [path]);
          check.rows += s.rows;
          if (s.rows !== f.rows) check.problems.push({ date, file: f.file, problem: 'rows differ', expected: f.rows, actual: s.rows });
          if (s.minTimeUs !== f.minTimeUs || s.maxTimeUs !== f.maxTimeUs) check.problems.push({ date, file: f.file, problem: 'time range differs', expected: `${f.minTimeUs}..${f.maxTimeUs}`, actual: `${s.minTimeUs}..${s.maxTimeUs}` });
        } catch (err) {
          check.problems.push({ date, file: f.file, problem: 'unreadable', actual: (err as Error).message.split('\n')[0]! });
        }
      }
      opts.onPartition?.(check);
    }
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
  return checks;
}
