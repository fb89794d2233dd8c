import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { runAnalyticsContract } from './contract.ts';
import { DuckDbAnalytics } from './duckdb/duckdb-analytics.ts';

runAnalyticsContract(
  'DuckDB',
  async (registry) => {
    const store = await DuckDbStore.open({ path: ':memory:', derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into) });
    return { store, analytics: new DuckDbAnalytics(await store.connect()) };
  },
  60,
);
