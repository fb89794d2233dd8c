import type { Registry } from 'prom-client';
import type { InvoiceService } from '../billing/invoice-service.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { TallyConfig } from '../config/schema.ts';
import type { JobDefinition } from '../jobs/job.ts';
import type { LeaseStore } from '../jobs/lease-store.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { PlanCatalog } from '../quota/catalog.ts';
import type { QuotaWarnings } from '../quota/warnings.ts';
import type { Clock } from '../shared/time.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import { ClickHouseAlertStore } from './clickhouse/clickhouse-alert-store.ts';
import { Dispatcher } from './dispatcher.ts';
import { DuckDbAlertStore } from './duckdb/duckdb-alert-store.ts';
import { alertsEvaluateJob } from './evaluate-job.ts';
import { IngestStats } from './ingest-stats.ts';
import { AlertRepos } from './repos.ts';
import { AlertService } from './service.ts';
import type { SourceContext } from './sources/context.ts';
import type { AlertStore } from './store.ts';

/** What alerts need from the composition root. */
export interface AlertsDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded?: DuckDbStore | undefined;
  leases: LeaseStore;
  meters: MeterRegistry;
  queries: QueryService;
  catalog: PlanCatalog;
  warnings: QuotaWarnings;
  invoices?: InvoiceService | undefined;
  metrics?: Registry | undefined;
  /** Where per-tenant ingest statistics are counted (`alerts.ingestStats`). */
  ingest?: IngestService | undefined;
  clock: Clock;
}

/** Alerts wired for the profile: the service, the evaluation job, the dispatcher. */
export interface Alerts {
  service: AlertService;
  /** The store (retention deletes old history from it). */
  store: AlertStore;
  job: JobDefinition;
  /** Gives the sources the job runner (data-health rules read its runs; until then they find nothing) and starts delivering. */
  start(runner: JobRunner): Promise<void>;
  close(): Promise<void>;
}

/** Opens the alert store of the profile (DuckDB file or ClickHouse), syncs config rules, wires the job and dispatcher. */
export async function openAlerts(d: AlertsDeps): Promise<Alerts> {
  const store: AlertStore = d.embedded ? await DuckDbAlertStore.open(await d.embedded.connect()) : await ClickHouseAlertStore.open({ url: d.config.distributed.clickhouseUrl, database: d.config.distributed.clickhouseDatabase });
  const repos = new AlertRepos(store);
  const cfg = d.config.alerts;
  const dispatcher = new Dispatcher(repos, d.leases, d.clock, cfg.delivery);
  const stats = cfg.ingestStats.enabled && d.ingest ? new IngestStats(d.ingest, d.clock) : undefined;
  const service = new AlertService(repos, d.meters, d.catalog, d.clock, dispatcher, stats !== undefined);
  const sources: SourceContext = { store: d.store, queries: d.queries, catalog: d.catalog, warnings: d.warnings, tenants: d.config.tenants.map((t) => t.id), invoices: d.invoices, metrics: d.metrics };
  // Config rules are upserted at every start (the same on every node), before the runner can
  // resume a crashed evaluation; API rules are kept.
  for (const r of cfg.rules) await service.save(r, { id: r.id!, source: 'config', replace: true });
  return {
    service,
    store,
    job: alertsEvaluateJob(repos, sources, dispatcher, cfg.schedule),
    async start(runner) {
      sources.runner = runner;
      stats?.start(cfg.ingestStats.flushSeconds * 1000);
      dispatcher.start();
    },
    async close() {
      await stats?.stop();
      await dispatcher.stop();
      await store.close();
    },
  };
}
