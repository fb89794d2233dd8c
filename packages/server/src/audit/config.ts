import { z } from 'zod';

/** `audit.canary`: synthetic events fed through the public ingest path on a schedule. */
export const canaryConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    tenant: z.string().min(1).max(200).default('_canary').describe('the canary tenant: give it no priced plan (it is then never invoiced)'),
    meter: z.string().optional().describe('a COUNT meter the canary events feed (required when enabled); the events get its eventType'),
    data: z.record(z.string(), z.unknown()).default({}).describe("the canary events' data (what the meter's dimensions read)"),
    events: z.number().int().min(1).max(1000).default(3).describe('events per run'),
    schedule: z.string().default('* * * * *').describe('cron (5 or 6 fields, UTC); default every minute'),
    sloSeconds: z.number().int().min(1).default(60).describe('a canary event must be in raw, rollups, live counters and queries within this'),
    windowSeconds: z.number().int().min(60).default(600).describe('how far back (beyond the SLO) each run checks the batches sent'),
  })
  .strict();

/** `audit:` in tally.config.yaml: the immutable archive and canaries (docs/audit.md). */
export const auditConfigSchema = z
  .object({
    canary: canaryConfigSchema.default(canaryConfigSchema.parse({})).describe('synthetic canary events (off by default)'),
    archiveTenantBuckets: z.number().int().min(0).max(1024).default(0).describe('0: one Parquet file per kind and day; N: each kind split into N files by tenant bucket (MD5 of the tenant), so one tenant\'s export or replay reads one file per kind and day'),
    archiveDir: z.string().optional().describe('where the daily archive job writes date=YYYY-MM-DD/ partitions of Parquet files and manifests (default: <store.dataDir>/archive); the layout is what an S3 bucket would hold'),
  })
  .strict();

/** Tenants left out of all-tenant answers (usage queries, analytics, costs): the enabled canary's. */
export function hiddenTenants(audit: AuditConfig): string[] {
  return audit.canary.enabled ? [audit.canary.tenant] : [];
}

/** The validated `audit:` section. */
export type AuditConfig = z.infer<typeof auditConfigSchema>;

/** The validated `audit.canary` section. */
export type CanaryConfig = z.infer<typeof canaryConfigSchema>;
