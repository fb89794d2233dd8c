import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { MICROS_PER_DAY, MICROS_PER_MS, formatMicros, type EpochMicros } from '../../shared/time.ts';
import { partitionDir, readManifest, sha256File, writeManifest, type ArchiveFileKind, type Manifest, type ManifestFile } from './manifest.ts';
import { archiveFileName } from './parquet.ts';
import type { ArchiveSource } from './source.ts';

const KINDS: ArchiveFileKind[] = ['events', 'corrections'];

/** The UTC day `YYYY-MM-DD` as [start, end) in epoch µs; throws on anything else. */
export function utcDay(date: string): { from: EpochMicros; to: EpochMicros } {
  const d = DateTime.fromISO(date, { zone: 'utc' });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !d.isValid) throw new Error(`"${date}" is not a UTC day (YYYY-MM-DD)`);
  const from = d.toMillis() * MICROS_PER_MS;
  return { from, to: from + MICROS_PER_DAY };
}

/**
 * Writes the partition of one closed ingest day: `events.parquet` and `corrections.parquet`,
 * then the manifest (last, atomically). An existing manifest is never rewritten: the partition
 * is immutable once complete. A crash before the manifest leaves files that the next run
 * overwrites. `beforeCommit` runs just before the manifest is written (the job's fencing check).
 * With `tenantBuckets` > 0 each kind is written as that many files, one per tenant bucket
 * (`events-b007.parquet`; empty buckets too, so a removed file is always detected), so one
 * tenant's rows are read from one file per kind and day.
 */
export async function writePartition(source: ArchiveSource, root: string, date: string, now: EpochMicros, beforeCommit: () => Promise<void> = async () => {}, tenantBuckets = 0): Promise<{ manifest: Manifest; written: boolean }> {
  const { from, to } = utcDay(date);
  if (to > now) throw new Error(`day ${date} is not closed yet (it ends ${formatMicros(to)}); only closed days are archived`);
  const existing = readManifest(root, date);
  if (existing) return { manifest: existing, written: false };
  const dir = partitionDir(root, date);
  mkdirSync(dir, { recursive: true });
  const files: ManifestFile[] = [];
  const buckets = tenantBuckets > 0 ? Array.from({ length: tenantBuckets }, (_, i) => i) : [undefined];
  for (const kind of KINDS) {
    for (const bucket of buckets) {
      const file = archiveFileName(kind, bucket);
      const path = join(dir, file);
      const w = await source.writeParquet(kind, from, to, path, bucket === undefined ? undefined : { index: bucket, of: tenantBuckets });
      files.push({ file, kind, rows: w.rows, minTimeUs: w.minTimeUs, maxTimeUs: w.maxTimeUs, bytes: statSync(path).size, sha256: await sha256File(path), ...(bucket === undefined ? {} : { bucket }) });
    }
  }
  const manifest: Manifest = { version: 1, date, partitionBy: 'ingest-day-utc', ingestedFromUs: from, ingestedToUs: to, createdAt: formatMicros(now), source: source.engine, rows: files.reduce((s, f) => s + f.rows, 0), ...(tenantBuckets > 0 ? { tenantBuckets } : {}), files };
  await beforeCommit();
  writeManifest(root, manifest);
  return { manifest, written: true };
}
