import type { JobDefinition } from '../../jobs/job.ts';
import { TallyError } from '../../errors/registry.ts';
import { readHorizons, type MetaStore } from '../../privacy/retention/policy.ts';
import { formatMicros } from '../../shared/time.ts';
import { readManifest } from './manifest.ts';
import { previousUtcDay } from '../reconcile-rollups.ts';
import { writePartition } from './archive-writer.ts';
import type { ArchiveSource } from './source.ts';

/**
 * `archive:<YYYY-MM-DD>`: writes the raw rows (events and corrections) ingested that UTC day
 * as Parquet with a manifest (docs/audit.md). Daily at 00:15 UTC for the day before, or on
 * demand for any closed day; a day already archived is left as it is (immutable).
 */
export function archiveJob(source: ArchiveSource, root: string, tenantBuckets = 0, meta?: MetaStore): JobDefinition {
  return {
    name: 'archive',
    description: "one closed UTC ingest day's raw events and corrections as Parquet, with a manifest (rows, time range, SHA-256)",
    schedule: '15 0 * * *',
    rangeAt: previousUtcDay,
    async run(ctx) {
      // Retention deleted raw events ingested on or after this day: archived now, it would be incomplete.
      const dayStart = Date.parse(`${ctx.range}T00:00:00Z`) * 1000;
      if (meta && Number.isFinite(dayStart) && !readManifest(root, ctx.range)) {
        const deleted = (await readHorizons(meta)).rawIngested;
        if (deleted !== undefined && deleted >= dayStart) {
          throw new TallyError('RETENTION_EXCEEDED', `raw events ingested on ${ctx.range} were deleted by retention (the latest deleted was ingested at ${formatMicros(deleted)}); the day can no longer be archived complete`, { tier: 'raw' });
        }
      }
      const { manifest, written } = await writePartition(source, root, ctx.range, ctx.now, () => ctx.assertHeld(), tenantBuckets);
      return { day: manifest.date, written, rows: manifest.rows, files: manifest.files.map((f) => ({ file: f.file, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })) };
    },
  };
}
