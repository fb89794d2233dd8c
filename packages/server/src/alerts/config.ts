import { z } from 'zod';
import { ruleInputSchema } from './rule.ts';

const deliverySchema = z
  .object({
    pollMs: z.number().int().min(50).default(1000).describe('how often the dispatcher looks for due messages (new alerts are dispatched at once)'),
    timeoutMs: z.number().int().min(100).default(10_000).describe('a receiver must answer within this'),
    baseDelayMs: z.number().int().min(10).default(5_000).describe('first retry after 0.5–1 × this; doubling per failure'),
    maxDelayMs: z.number().int().min(10).default(3_600_000).describe('cap of the retry delay'),
    maxAttempts: z.number().int().min(1).max(100).default(12).describe('attempts before a message is dead-lettered (the retry budget)'),
    concurrency: z.number().int().min(1).max(64).default(8).describe('messages sent at once'),
  })
  .strict();

const ingestStatsSchema = z
  .object({
    enabled: z.boolean().default(false).describe('count accepted, duplicate and rejected events per tenant on every node and record them each minute as tally.ingest.stats events (needed by ingest-rejections rules)'),
    flushSeconds: z.number().int().min(1).max(60).default(10).describe('how often a node records the minutes that are over'),
  })
  .strict();

/** `alerts:` in tally.config.yaml (docs/alerts.md). */
export const alertsConfigSchema = z
  .object({
    schedule: z.string().default('* * * * *').describe('cron (UTC) of the alerts-evaluate job; 6 fields for seconds'),
    rules: z.array(ruleInputSchema).default([]).describe('rules kept in config (ids required); rules can also be managed through /v1/alerts/rules'),
    delivery: deliverySchema.default(deliverySchema.parse({})),
    ingestStats: ingestStatsSchema.default(ingestStatsSchema.parse({})).describe('per-tenant ingest statistics'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.rules.forEach((r, i) => {
      if (r.id === undefined) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: 'a rule in config needs an id' });
      else if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${r.id}"` });
      else seen.add(r.id);
    });
  });
export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
