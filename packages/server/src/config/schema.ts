import { z } from 'zod';
import { meterSchema } from '../meters/meter.ts';

/** A tenant known in config (events may also name tenants not listed here). */
const tenantSchema = z
  .object({
    id: z.string().min(1).max(200),
    name: z.string().optional(),
    plan: z.string().optional().describe('id of a plan in `plans`'),
  })
  .strict();

/** A plan: entitlements and prices arrive with the quota and billing issues. */
const planSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    entitlements: z.array(z.record(z.string(), z.unknown())).default([]).describe('reserved for quotas'),
  })
  .strict();

/** The whole `tally.config.yaml`. Every field has a default so an empty file is valid. */
export const configSchema = z
  .object({
    profile: z.enum(['embedded']).default('embedded').describe('embedded: one process on DuckDB'),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8787),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8787, logLevel: 'info' }),
    store: z
      .object({
        dataDir: z.string().default('.tally').describe('holds tally.duckdb, the actor-hash secret and the dev admin key'),
      })
      .strict()
      .default({ dataDir: '.tally' }),
    ingest: z
      .object({
        maxEventsPerRequest: z.number().int().min(1).max(100_000).default(10_000),
        maxBodyBytes: z.number().int().min(1024).default(10 * 1024 * 1024),
        backfillDays: z.number().int().min(0).default(35).describe('events older than this are rejected'),
        maxFutureSeconds: z.number().int().min(0).default(300),
      })
      .strict()
      .default({ maxEventsPerRequest: 10_000, maxBodyBytes: 10 * 1024 * 1024, backfillDays: 35, maxFutureSeconds: 300 }),
    security: z
      .object({
        actorHashSecret: z.string().min(16).optional().describe('HMAC secret for end-user ids; generated and persisted on first start if absent'),
        adminKey: z.string().min(16).optional().describe('bootstrap admin key; otherwise a dev key is generated on first start'),
      })
      .strict()
      .default({}),
    meters: z.array(meterSchema).default([]),
    tenants: z.array(tenantSchema).default([]),
    plans: z.array(planSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.meters.forEach((m, i) => {
      if (seen.has(m.slug)) ctx.addIssue({ code: 'custom', path: ['meters', i, 'slug'], message: `duplicate meter slug "${m.slug}"` });
      seen.add(m.slug);
    });
    const plans = new Set(c.plans.map((p) => p.id));
    c.tenants.forEach((t, i) => {
      if (t.plan !== undefined && !plans.has(t.plan)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'plan'], message: `unknown plan "${t.plan}"` });
    });
  });

/** The validated configuration. */
export type TallyConfig = z.infer<typeof configSchema>;
