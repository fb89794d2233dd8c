import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { runBillingContract } from './issue-contract.ts';

runBillingContract('DuckDB', (registry) => DuckDbStore.open({ path: ':memory:', derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into) }), 30);
