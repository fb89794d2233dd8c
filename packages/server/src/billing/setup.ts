import type { TallyConfig } from '../config/schema.ts';
import type { LeaseStore } from '../jobs/lease-store.ts';
import type { JobDefinition } from '../jobs/job.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { PlanCatalog } from '../quota/catalog.ts';
import { MICROS_PER_MS, type Clock } from '../shared/time.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import { ClickHouseInvoiceRepo } from './clickhouse/clickhouse-invoice-repo.ts';
import { DuckDbInvoiceRepo } from './duckdb/duckdb-invoice-repo.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import { invoicesJob } from './invoice-job.ts';
import { InvoiceService } from './invoice-service.ts';
import { InvoiceIssuer } from './issue.ts';
import { PlanTimeline } from './plan-timeline.ts';
import { RuntimePlanChanges } from './runtime-plans.ts';
import { UpcomingInvoices } from './upcoming.ts';

/** What billing needs from the composition root. */
export interface BillingDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded?: DuckDbStore | undefined;
  /** Distributed profile: invoice writes are serialized across nodes with these leases. */
  leases?: LeaseStore | undefined;
  meters: MeterRegistry;
  queries: QueryService;
  catalog: PlanCatalog;
  clock: Clock;
}

/** Billing wired for the profile: the upcoming invoice, issued invoices and the invoicing job. */
export interface Billing {
  upcoming: UpcomingInvoices;
  invoices: InvoiceService;
  job: JobDefinition;
  close(): Promise<void>;
}

/** Opens the invoice repository of the profile (DuckDB file or ClickHouse) and the services on it. */
export async function openBilling(d: BillingDeps): Promise<Billing> {
  const timeline = new PlanTimeline(d.config);
  const runtime = new RuntimePlanChanges(d.store, timeline);
  let repo: InvoiceRepo;
  if (d.embedded) repo = await DuckDbInvoiceRepo.open(await d.embedded.connect());
  else repo = await ClickHouseInvoiceRepo.open({ url: d.config.distributed.clickhouseUrl, database: d.config.distributed.clickhouseDatabase, leases: d.leases! });
  const issuer = new InvoiceIssuer({
    store: d.store,
    meters: d.meters,
    queries: d.queries,
    timeline,
    repo,
    policy: { graceMicros: d.config.billing.graceHours * 3_600_000 * MICROS_PER_MS, backfillDays: d.config.ingest.backfillDays },
  });
  return {
    upcoming: new UpcomingInvoices(timeline, d.queries, d.clock, () => runtime.refresh()),
    invoices: new InvoiceService(repo, d.store, d.meters, d.clock, d.config.billing.issuerName, d.config.billing.creditNotes, (drafts) => issuer.verify(drafts)),
    job: invoicesJob(issuer, repo, { autoFinalize: d.config.billing.autoFinalize, reviewMicros: d.config.billing.reviewHours * 3_600_000 * MICROS_PER_MS, graceMicros: d.config.billing.graceHours * 3_600_000 * MICROS_PER_MS, timeline, refresh: () => runtime.refresh() }),
    close: () => repo.close(),
  };
}
