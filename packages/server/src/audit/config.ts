import { z } from 'zod';

/** `audit:` in tally.config.yaml: the immutable archive (docs/audit.md). */
export const auditConfigSchema = z
  .object({
    archiveDir: z.string().optional().describe('where the daily archive job writes date=YYYY-MM-DD/ partitions of Parquet files and manifests (default: <store.dataDir>/archive); the layout is what an S3 bucket would hold'),
  })
  .strict();

/** The validated `audit:` section. */
export type AuditConfig = z.infer<typeof auditConfigSchema>;
