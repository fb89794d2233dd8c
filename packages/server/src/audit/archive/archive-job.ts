import type { JobDefinition } from '../../jobs/job.ts';
import { previousUtcDay } from '../reconcile-rollups.ts';
import { writePartition } from './archive-writer.ts';
import type { ArchiveSource } from './source.ts';

/**
 * `archive:<YYYY-MM-DD>`: writes the raw rows (events and corrections) ingested that UTC day
 * as Parquet with a manifest (docs/audit.md). Daily at 00:15 UTC for the day before, or on
 * demand for any closed day; a day already archived is left as it is (immutable).
 */
export function archiveJob(source: ArchiveSource, root: string, tenantBuckets = 0): JobDefinition {
  return {
    name: 'archive',
    description: "one closed UTC ingest day's raw events and corrections as Parquet, with a manifest (rows, time range, SHA-256)",
    schedule: '15 0 * * *',
    rangeAt: previousUtcDay,
    async run(ctx) {
      const { manifest, written } = await writePartition(source, root, ctx.range, ctx.now, () => ctx.assertHeld(), tenantBuckets);
      return { day: manifest.date, written, rows: manifest.rows, files: manifest.files.map((f) => ({ file: f.file, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })) };
    },
  };
}
