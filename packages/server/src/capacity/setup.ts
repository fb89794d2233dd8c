import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { InvoiceService } from '../billing/invoice-service.ts';
import type { UpcomingInvoices } from '../billing/upcoming.ts';
import type { TallyConfig } from '../config/schema.ts';
import { CostService } from '../costs/cost-service.ts';
import { ExchangeRates } from '../costs/exchange.ts';
import { MarginService } from '../costs/margin.ts';
import type { JobDefinition } from '../jobs/job.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { QuotaService } from '../quota/quota-service.ts';
import type { Clock } from '../shared/time.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import { CapacityService } from './capacity-service.ts';
import { ClickHouseStorageStats } from './clickhouse/clickhouse-storage-stats.ts';
import { DuckDbStorageStats } from './duckdb/duckdb-storage-stats.ts';
import { ForecastService } from './forecast-service.ts';
import { QuotaForecasts } from './quota-forecasts.ts';

/** What capacity and costs need from the composition root. */
export interface CapacityDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded?: DuckDbStore | undefined;
  meters: MeterRegistry;
  queries: QueryService;
  clock: Clock;
  invoices?: InvoiceService | undefined;
  upcoming?: UpcomingInvoices | undefined;
  /** With quotas, their day and month projections use the forecasts (an hourly job refreshes them). */
  quotas?: QuotaService | undefined;
}

/** Forecasts, the storage planner, cost attribution and margins, wired for the profile. */
export interface Capacity {
  forecasts: ForecastService;
  capacity: CapacityService;
  costs: CostService;
  margin: MarginService;
  /** The `quota-forecasts` job when quotas were given. */
  jobs: JobDefinition[];
  quotaForecasts: QuotaForecasts | undefined;
  close(): Promise<void>;
}

/** Opens the capacity domain: storage is measured in DuckDB's file or ClickHouse's system.parts. */
export async function openCapacity(d: CapacityDeps): Promise<Capacity> {
  let client: ClickHouseClient | undefined;
  let stats;
  if (d.embedded) stats = new DuckDbStorageStats(await d.embedded.connect());
  else {
    client = createClient({ url: d.config.distributed.clickhouseUrl });
    stats = new ClickHouseStorageStats(client, d.config.distributed.clickhouseDatabase);
  }
  const forecasts = new ForecastService(d.queries, d.meters, d.clock);
  const costs = new CostService(d.config.costs, d.queries, d.meters);
  let quotaForecasts: QuotaForecasts | undefined;
  if (d.quotas && d.config.capacity.quotaForecasts) {
    const qf = (quotaForecasts = new QuotaForecasts(d.store, forecasts, d.queries, d.quotas, d.clock));
    d.quotas.projector = (tenant, ent, period, now, usage) => qf.project(tenant, ent, period, now, usage);
    d.quotas.beforeRead = () => qf.load();
  }
  return {
    jobs: quotaForecasts ? [quotaForecasts.job()] : [],
    quotaForecasts,
    forecasts,
    capacity: new CapacityService(stats, d.store, forecasts, d.meters, d.config.capacity),
    costs,
    margin: new MarginService(costs, d.config.tenants, d.clock, d.invoices, d.upcoming, new ExchangeRates(d.config.exchangeRates)),
    close: async () => {
      await client?.close();
    },
  };
}
