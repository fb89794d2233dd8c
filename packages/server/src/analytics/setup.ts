import type { TallyConfig } from '../config/schema.ts';
import { hiddenTenants } from '../audit/config.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import { ClickHouseAnalytics } from './clickhouse/clickhouse-analytics.ts';
import { DuckDbAnalytics } from './duckdb/duckdb-analytics.ts';
import { AnalyticsService } from './service.ts';

/** What analytics needs from the composition root. */
export interface AnalyticsDeps {
  config: TallyConfig;
  store: UsageStore;
  embedded?: DuckDbStore | undefined;
  meters: MeterRegistry;
  queries: QueryService;
}

/** Opens the analytics adapter of the profile (a DuckDB connection, or a ClickHouse client) and the service on it. */
export async function openAnalytics(d: AnalyticsDeps): Promise<AnalyticsService> {
  const store = d.embedded
    ? new DuckDbAnalytics(await d.embedded.connect())
    : await ClickHouseAnalytics.open({ url: d.config.distributed.clickhouseUrl, database: d.config.distributed.clickhouseDatabase });
  return new AnalyticsService(store, d.store, d.meters, d.queries, d.config, hiddenTenants(d.config.audit));
}
