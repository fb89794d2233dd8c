import { DataMinimiser, privacySchema } from '../privacy/minimise.ts';
import { retentionConfigSchema } from '../privacy/retention/policy.ts';
import { z } from 'zod';
import { meterSchema } from '../meters/meter.ts';
import { billingConfigSchema, tenantBillingSchema } from '../billing/profile.ts';
import { plansSchema } from '../quota/plan-schema.ts';
import { quotasConfigSchema } from '../quota/config-schema.ts';
import { alertsConfigSchema } from '../alerts/config.ts';
import { capacitySchema } from '../capacity/capacity-schema.ts';
import { costsSchema } from '../costs/cost-schema.ts';
import { exchangeRatesSchema } from '../costs/exchange.ts';
import { auditConfigSchema } from '../audit/config.ts';

/** A tenant known in config (events may also name tenants not listed here). */
const tenantSchema = z
  .object({
    id: z.string().min(1).max(200),
    name: z.string().optional(),
    plan: z.string().optional().describe('id of a plan in `plans`'),
    billing: tenantBillingSchema.optional().describe('billing profile: anchor and time zone of its billing periods'),
  })
  .strict();

/** Backends of the distributed profile (NATS JetStream, ClickHouse, Redis). */
const distributedSchema = z
  .object({
    natsUrl: z.string().regex(/^(nats|tls):\/\/[^\s/]+$/, 'a NATS URL such as nats://127.0.0.1:4222').default('nats://127.0.0.1:4222'),
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-"').default('TALLY_EVENTS').describe('JetStream stream name'),
    subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens without wildcards').default('tally.events').describe('subjects are <prefix>.<partition>'),
    partitions: z.number().int().min(1).max(1024).default(8).describe('stream partitions (tenant hash); the unit of worker parallelism'),
    duplicateWindowSeconds: z.number().int().min(1).default(120).describe("JetStream's Msg-Id duplicate window; beyond it the worker's dedupe decides"),
    maxAgeHours: z.number().int().min(1).default(168).describe('how long events stay in the stream (how long a ClickHouse outage can last)'),
    clickhouseUrl: z.string().regex(/^https?:\/\/[^\s/]+\/?$/, 'an HTTP URL such as http://127.0.0.1:8123').default('http://127.0.0.1:8123'),
    clickhouseDatabase: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and "_"').default('tally'),
    redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'a Redis URL such as redis://127.0.0.1:6379').default('redis://127.0.0.1:6379'),
    redisPrefix: z.string().min(1).default('tally').describe('prefix of every Redis key (live counters, leases)'),
    workerBatch: z.number().int().min(1).max(100_000).default(5000).describe('most events one stream partition adds to a worker ClickHouse insert (a worker merges the batches of its partitions into one insert)'),
    hotTenants: z.array(z.string().min(1).max(200)).max(1000).default([]).describe('tenants whose events spread over every partition by event id (one tenant no longer limited to one worker); like partitions, fixed for the life of a stream'),
  })
  .strict();

const MiB = 1024 * 1024;

/** The HTTP server: address, logs, and the overload limits and timeouts (docs/overload.md). */
const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    maxInflightIngest: z.number().int().min(1).max(10_000).default(4).describe('bulk ingest requests (POST /v1/events, /v1/batch, /api/v1/events) in flight at once; more are refused with 503 OVERLOADED and Retry-After'),
    maxInflightBytes: z.number().int().min(1024).default(16 * MiB).describe('request-body bytes in flight at once, counted decompressed; at least ingest.maxBodyBytes; more are refused with 503 OVERLOADED'),
    headersTimeoutMs: z.number().int().min(1).default(10_000).describe('the request line and headers must arrive within this; slower connections are closed (slowloris)'),
    requestTimeoutMs: z.number().int().min(1).default(30_000).describe('the whole request, body included, must arrive within this; slower ones get 408 and are closed'),
    keepAliveTimeoutMs: z.number().int().min(1).default(5_000).describe('an idle kept-alive connection is closed after this (behind a load balancer: above its idle timeout)'),
    metricsRequireKey: z.boolean().default(false).describe('GET /metrics needs a read key not bound to a tenant (server-wide figures); default open, as Prometheus scrapes usually are'),
    metricsToken: z.string().min(16).optional().describe('GET /metrics needs `Authorization: Bearer <this token>` (a scrape secret, not an API key; TALLY_METRICS_TOKEN); with metricsRequireKey too, either is accepted'),
    metricsTenantLabels: z.boolean().default(false).describe('add tally_tenant_events_accepted_total{tenant}; off by default, so /metrics carries no tenant ids'),
    idleTimeoutMs: z.number().int().min(1).default(120_000).describe('a connection with no bytes moving either way for this long is closed (above your slowest query)'),
  })
  .strict();

/** Settings of the embedded DuckDB store. */
const duckdbSchema = z
  .object({
    memoryLimit: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as "512MB" or "2GiB"')
      .default('1GB')
      .describe("DuckDB's memory_limit: its buffer pool (caches, sorts, index); beyond it DuckDB spills to its temp directory"),
    threads: z.number().int().min(1).max(256).optional().describe("DuckDB's worker threads (default: one per core)"),
  })
  .strict();

/** The whole `tally.config.yaml`. Every field has a default so an empty file is valid. */
export const configSchema = z
  .object({
    profile: z.enum(['embedded', 'distributed']).default('embedded').describe('embedded: one process on DuckDB; distributed: API nodes + workers on JetStream, ClickHouse and Redis'),
    distributed: distributedSchema.default(distributedSchema.parse({})).describe('backends of the distributed profile'),
    server: serverSchema.default(serverSchema.parse({})),
    store: z
      .object({
        dataDir: z.string().default('.tally').describe('holds tally.duckdb, the actor-hash secret and the dev admin key'),
        duckdb: duckdbSchema.default(duckdbSchema.parse({})).describe('settings of the embedded DuckDB store'),
      })
      .strict()
      .default({ dataDir: '.tally', duckdb: duckdbSchema.parse({}) }),
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
        previousActorHashSecrets: z.array(z.string().min(16)).default([]).describe('secrets used before actorHashSecret (newest first): new events are never hashed with them, erasure looks for the hashes they made (docs/privacy.md, rotation)'),
        adminKey: z.string().min(16).optional().describe('bootstrap admin key; otherwise a dev key is generated on first start'),
      })
      .strict()
      .default({ previousActorHashSecrets: [] }),
    meters: z.array(meterSchema).default([]),
    tenants: z.array(tenantSchema).default([]),
    plans: plansSchema,
    quotas: quotasConfigSchema.default(quotasConfigSchema.parse({})).describe('distributed quota counters: Redis, local sync, leases, failure policy timing'),
    billing: billingConfigSchema.default(billingConfigSchema.parse({})).describe('invoicing: grace period and finalization'),
    privacy: privacySchema.default(privacySchema.parse({})).describe('data minimisation (docs/privacy.md)'),
    retention: retentionConfigSchema.default(retentionConfigSchema.parse({})).describe('how long each tier is kept, enforced by the retention job (docs/privacy.md)'),
    alerts: alertsConfigSchema.default(alertsConfigSchema.parse({})).describe('alert rules, their evaluation schedule and webhook delivery (docs/alerts.md)'),
    costs: costsSchema,
    exchangeRates: exchangeRatesSchema,
    capacity: capacitySchema.default(capacitySchema.parse({})).describe('storage planner: retention per tier (docs/capacity.md)'),
    audit: auditConfigSchema.default(auditConfigSchema.parse({})).describe('audit trail: the immutable archive, reconciliation and canaries'),
  })
  .strict()
  .superRefine((c, ctx) => {
    // A body of the largest allowed size must fit the in-flight budget, or it could never be admitted.
    if (c.server.maxInflightBytes < c.ingest.maxBodyBytes) ctx.addIssue({ code: 'custom', path: ['server', 'maxInflightBytes'], message: `must be at least ingest.maxBodyBytes (${c.ingest.maxBodyBytes})` });
    // Node refuses a header timeout above the request timeout.
    if (c.server.headersTimeoutMs > c.server.requestTimeoutMs) ctx.addIssue({ code: 'custom', path: ['server', 'headersTimeoutMs'], message: `must not exceed server.requestTimeoutMs (${c.server.requestTimeoutMs})` });
    if (c.profile === 'distributed') {
      // Every node must hash actors and accept keys alike: nothing may be generated per node.
      if (c.security.actorHashSecret === undefined) ctx.addIssue({ code: 'custom', path: ['security', 'actorHashSecret'], message: 'required in the distributed profile (all nodes must share it; TALLY_ACTOR_SECRET)' });
      if (c.security.adminKey === undefined) ctx.addIssue({ code: 'custom', path: ['security', 'adminKey'], message: 'required in the distributed profile (no per-node dev key; TALLY_ADMIN_KEY)' });
    }
    const seen = new Set<string>();
    c.meters.forEach((m, i) => {
      if (seen.has(m.slug)) ctx.addIssue({ code: 'custom', path: ['meters', i, 'slug'], message: `duplicate meter slug "${m.slug}"` });
      seen.add(m.slug);
    });
    const minimiser = new DataMinimiser(c.privacy.allowedProperties);
    c.meters.forEach((m, i) => {
      const problem = minimiser.meterProblem(m);
      if (problem) ctx.addIssue({ code: 'custom', path: ['meters', i], message: problem });
    });
    const plans = new Set(c.plans.map((p) => p.id));
    c.tenants.forEach((t, i) => {
      if (t.plan !== undefined && !plans.has(t.plan)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'plan'], message: `unknown plan "${t.plan}"` });
    });
  });

/** The validated configuration. */
export type TallyConfig = z.infer<typeof configSchema>;
