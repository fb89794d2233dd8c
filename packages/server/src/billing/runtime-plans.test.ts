import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { runRuntimePlansContract } from './runtime-plans-contract.ts';

runRuntimePlansContract('DuckDB', () => DuckDbStore.open({ path: ':memory:', derive: (e, into) => deriveRollups(e, () => [], ['minute'], into) }));
