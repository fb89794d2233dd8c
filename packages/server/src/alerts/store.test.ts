import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbAlertStore } from './duckdb/duckdb-alert-store.ts';
import { runAlertStoreContract } from './store-contract.ts';

runAlertStoreContract('DuckDB', async () => DuckDbAlertStore.open(await (await DuckDBInstance.create(':memory:')).connect()));
