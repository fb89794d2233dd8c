import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbInvoiceRepo } from './duckdb/duckdb-invoice-repo.ts';
import { runInvoiceRepoContract } from './invoice-repo-contract.ts';

runInvoiceRepoContract('DuckDB', async () => DuckDbInvoiceRepo.open(await (await DuckDBInstance.create(':memory:')).connect()));
