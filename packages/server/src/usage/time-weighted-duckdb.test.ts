import { DuckDbStore } from '../store/duckdb/duckdb-store.ts';
import { deriveRollups } from './derive-rollups.ts';
import { runTimeWeightedContract } from './time-weighted-contract.ts';

runTimeWeightedContract('DuckDB', (registry) => DuckDbStore.open({ path: ':memory:', derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into) }), 80);
