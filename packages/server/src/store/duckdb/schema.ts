import { MAX_DIMENSIONS } from '../../meters/meter.ts';

/** Dimension columns d1…d8 of the rollup and unique-fact tables. */
export const DIM_COLUMNS = Array.from({ length: MAX_DIMENSIONS }, (_, i) => `d${i + 1}`);
const dimDdl = DIM_COLUMNS.map((d) => `${d} VARCHAR`).join(', ');

/** Scale of every stored quantity (see shared/decimal.ts). */
const Q = 'DECIMAL(38, 12)';

/**
 * DuckDB schema. Times are BIGINT epoch microseconds so range filters push down to zone maps
 * without time-zone casts; `events` doubles as the dedupe ledger through its primary key.
 * Rollups are written as append-only partial aggregates (`rollup_deltas`, cheap to append)
 * and compacted in the background into `rollups` (one row per bucket and dimension values);
 * queries read both, so every answer is exact whether or not compaction has run.
 */
export const DDL = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (
     tenant VARCHAR NOT NULL, id VARCHAR NOT NULL, type VARCHAR NOT NULL, source VARCHAR NOT NULL,
     time_us BIGINT NOT NULL, actor VARCHAR, data VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
     ingested_us BIGINT NOT NULL, PRIMARY KEY (tenant, id))`,
  `CREATE TABLE IF NOT EXISTS meters (slug VARCHAR PRIMARY KEY, definition VARCHAR NOT NULL, created_us BIGINT NOT NULL)`,
  ...['rollups', 'rollup_deltas'].map(
    (t) => `CREATE TABLE IF NOT EXISTS ${t} (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, res VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL,
     ${dimDdl}, cnt BIGINT NOT NULL, sum ${Q}, min ${Q}, max ${Q}, latest_value ${Q}, latest_us BIGINT, latest_id VARCHAR)`,
  ),
  `CREATE TABLE IF NOT EXISTS unique_facts (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, time_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL, ${dimDdl}, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS api_keys (
     id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, hash VARCHAR NOT NULL, scopes VARCHAR NOT NULL, tenant VARCHAR,
     created_us BIGINT NOT NULL, revoked_us BIGINT)`,
];

/** Per-connection staging tables of the writer (temp: never persisted). */
export const STAGING_DDL = [
  `CREATE TEMP TABLE IF NOT EXISTS stage_keys (tenant VARCHAR, id VARCHAR)`,
];

/** Key columns of a rollup bucket. */
export const ROLLUP_KEY = ['meter', 'tenant', 'res', 'bucket_us', 'dim_key'];

/** Merges partial aggregates (the same expressions serve compaction and queries). */
export const ROLLUP_MERGE = [
  'sum(cnt)',
  'sum(sum)',
  'min(min)',
  'max(max)',
  'arg_max(latest_value, (latest_us, latest_id))',
  'max(latest_us)',
  'arg_max(latest_id, (latest_us, latest_id))',
];

/** Both rollup tables as one relation. */
export const ALL_ROLLUPS = '(SELECT * FROM rollups UNION ALL SELECT * FROM rollup_deltas)';
