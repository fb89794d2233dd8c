import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbGrantRepo } from './duckdb-repo.ts';
import { runGrantRepoContract } from './repo-contract.ts';

runGrantRepoContract('DuckDB', async () => DuckDbGrantRepo.open(await (await DuckDBInstance.create(':memory:')).connect()));
