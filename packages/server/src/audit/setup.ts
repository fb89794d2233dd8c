import { join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { InvoiceService } from '../billing/invoice-service.ts';
import type { TallyConfig } from '../config/schema.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { JobDefinition } from '../jobs/job.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { LiveCounters } from '../pipeline/live-counters.ts';
import type { QuotaService } from '../quota/quota-service.ts';
import type { Clock } from '../shared/time.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { KeyService } from '../auth/keys.ts';
import { ConfigError } from '../config/load.ts';
import { archiveJob } from './archive/archive-job.ts';
import { Canary, CANARY_JOB } from './canary/canary-job.ts';
import { httpCanarySender } from './canary/http-sender.ts';
import { ClickHouseArchiveSource } from './archive/clickhouse-source.ts';
import { DuckDbArchiveSource } from './archive/duckdb-source.ts';
import type { ArchiveSource } from './archive/source.ts';
import { CorrectionService } from './corrections/correction-service.ts';
import { archiveRule } from './reconcile/archive-rule.ts';
import { invoiceRule } from './reconcile/invoice-rule.ts';
import { quotaLiveRule, redisLiveRule } from './reconcile/live-rules.ts';
import { RECONCILE_JOB, Reconciliation } from './reconcile/reconciliation.ts';
import { rollupRules } from './reconcile/rollup-rules.ts';
import type { ReconcileRule } from './reconcile/rule.ts';
import { sdkRule } from './reconcile/sdk-rule.ts';

/** What the HTTP edge needs from the audit domain. */
export interface AuditHttp {
  corrections: CorrectionService;
  reconciliation: Reconciliation;
  clock: Clock;
}

/** Everything the audit domain needs, already wired by `startTally`. */
export interface AuditDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded: DuckDbStore | undefined;
  /** Distributed profile: the Redis live counters. */
  liveCounters: LiveCounters | undefined;
  ingest: IngestService;
  meters: MeterRegistry;
  queries: QueryService;
  quotas: QuotaService;
  invoices: InvoiceService;
  metrics: Registry;
  keys: KeyService;
  /** This node's own URL once it listens (the canary sends through it). */
  selfUrl: () => string | undefined;
  clock: Clock;
}

/** The audit domain of a running node: its HTTP services, its jobs, and how to close it. */
export interface Audit extends AuditHttp {
  archiveDir: string;
  archive: ArchiveSource;
  jobs: JobDefinition[];
  /** Call once the job runner exists (results are read from its runs). */
  attach(runner: JobRunner): void;
  close(): Promise<void>;
}

/** The archive directory of a config: `audit.archiveDir`, or `<store.dataDir>/archive`. */
export function archiveDirOf(config: TallyConfig): string {
  return resolve(config.audit.archiveDir ?? join(config.store.dataDir, 'archive'));
}

/** The profile's archive source: the embedded DuckDB itself, or ClickHouse through an embedded DuckDB. */
export async function archiveSourceFor(config: TallyConfig, embedded: DuckDbStore | undefined): Promise<ArchiveSource> {
  if (embedded) return new DuckDbArchiveSource(await embedded.connect());
  return ClickHouseArchiveSource.open(config.distributed.clickhouseUrl, config.distributed.clickhouseDatabase);
}

/** Wires the audit domain: corrections, the archive job, reconciliation (canaries join here). */
export async function openAudit(d: AuditDeps): Promise<Audit> {
  const archiveDir = archiveDirOf(d.config);
  const archive = await archiveSourceFor(d.config, d.embedded);
  const rules: ReconcileRule[] = [
    ...rollupRules(d.store, d.meters),
    d.liveCounters ? redisLiveRule(d.liveCounters, d.store, d.meters) : quotaLiveRule(d.quotas, d.queries),
    archiveRule(archive, archiveDir),
    invoiceRule(d.invoices, d.store, d.meters),
    sdkRule(d.store),
  ];
  const reconciliation = new Reconciliation(rules, d.store, [RECONCILE_JOB, CANARY_JOB]);
  reconciliation.registerMetrics(d.metrics);
  const canary = await openCanary(d);
  return {
    corrections: new CorrectionService(d.store, d.ingest, d.clock),
    reconciliation,
    clock: d.clock,
    archiveDir,
    archive,
    jobs: [archiveJob(archive, archiveDir, d.config.audit.archiveTenantBuckets, d.store), reconciliation.job(), ...(canary ? [canary.job()] : [])],
    attach: (runner) => {
      reconciliation.attach(runner);
      canary?.attach(runner);
    },
    close: () => archive.close(),
  };
}

/**
 * The canary, when `audit.canary.enabled`: its meter must be a COUNT meter, its tenant must not
 * be billed (no priced plan), and it gets an ingest key of its own (created at each start; the
 * token lives only in this process).
 */
async function openCanary(d: AuditDeps): Promise<Canary | undefined> {
  const cfg = d.config.audit.canary;
  if (!cfg.enabled) return undefined;
  const meter = cfg.meter === undefined ? undefined : d.meters.get(cfg.meter);
  if (!meter || meter.def.aggregation !== 'COUNT') throw new ConfigError('config', [{ path: 'audit.canary.meter', message: cfg.meter === undefined ? 'required when the canary is enabled' : `"${cfg.meter}" is not a COUNT meter` }]);
  const plan = d.config.tenants.find((t) => t.id === cfg.tenant)?.plan;
  if (plan !== undefined && (d.config.plans.find((p) => p.id === plan)?.prices?.length ?? 0) > 0) {
    throw new ConfigError('config', [{ path: 'audit.canary.tenant', message: `the canary tenant "${cfg.tenant}" has the priced plan "${plan}": canaries are never billed` }]);
  }
  const { token } = await d.keys.create(`canary (${cfg.tenant})`, ['ingest']);
  const counters = d.liveCounters;
  const canary = new Canary(cfg, meter, d.store, d.queries, httpCanarySender(d.selfUrl, token), counters ? async (tenant, series, day) => (await counters.read(tenant, series, `d:${day}`)).count : undefined);
  canary.registerMetrics(d.metrics);
  return canary;
}
