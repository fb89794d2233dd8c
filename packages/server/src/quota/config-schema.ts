import { z } from 'zod';

/** `quotas`: how the distributed profile reaches its shared quota counters (docs/quotas.md). */
export const quotasConfigSchema = z
  .object({
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'a Redis URL such as redis://127.0.0.1:6379')
      .optional()
      .describe('Redis holding the quota counters (default: distributed.redisUrl)'),
    defaultPlan: z.string().min(1).optional().describe('plan (id in `plans`) of every tenant `tenants` does not list: their quotas, not their billing'),
    commandTimeoutMs: z.number().int().min(1).default(1000).describe('a quota script slower than this counts as Redis unreachable (the failure policy decides)'),
    syncMs: z.number().int().min(10).default(1000).describe('local mode: how often a node pushes its consumption and reads the global usage'),
    leaseMs: z.number().int().min(10).default(2000).describe('leased mode: life of a lease; unspent units go back when it ends'),
    leaseChunkPermille: z.number().int().min(1).max(1000).default(10).describe('leased mode: share of the limit leased per refill, in ‰ (at least one unit)'),
    reseedWindowSeconds: z.number().int().min(0).default(600).describe('after Redis came back empty: how long the counters keep being raised to the rollups (every 5 s) while the pipeline catches up'),
    failOpenSeconds: z.number().min(0).default(5).describe('open-then-closed: how long an outage is admitted before denying'),
  })
  .strict();

/** The validated `quotas` section. */
export type QuotasConfig = z.infer<typeof quotasConfigSchema>;
