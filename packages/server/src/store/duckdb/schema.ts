import { MAX_DIMENSIONS } from '../../meters/meter.ts';
import { RESOLUTION_MICROS, type Resolution } from '../../usage/resolution.ts';

/** Dimension columns d1…d8 of the rollup and unique-fact tables. */
export const DIM_COLUMNS = Array.from({ length: MAX_DIMENSIONS }, (_, i) => `d${i + 1}`);
const dimDdl = DIM_COLUMNS.map((d) => `${d} VARCHAR`).join(', ');

/**
 * Column type of every stored quantity: the exact scaled integer (value × 10^12, see
 * shared/decimal.ts) as HUGEINT. The same range and exactness as DECIMAL(38, 12) (sums raise an
 * overflow error rather than wrap), but appended and read as plain bigints: DECIMAL values
 * cost the appender about four times as much per row.
 */
export const QUANTITY_TYPE = 'HUGEINT';
const Q = QUANTITY_TYPE;

/** The tables of compacted rollup rows (per resolution, and per-tenant totals). */
export const COMPACTED_TABLES = ['rollups_minute', 'rollups_hour', 'rollups_day', 'rollups_hour_total', 'rollups_day_total'];

/**
 * The tables of pending minute deltas: `rollup_deltas` holds count, sum, min and max;
 * `latest_deltas` the rows of LATEST series (count and latest). Two narrow tables rather than
 * one wide one: each appended row costs the ingest thread about half as much.
 */
export const DELTA_TABLES = ['rollup_deltas', 'latest_deltas'];

/** Every table of rollup rows: the compacted ones and the pending deltas. */
export const ROLLUP_TABLES = [...COMPACTED_TABLES, ...DELTA_TABLES];

/**
 * The dimension columns of pending deltas and pending facts, read from their `dim_key` (the
 * JSON array of the dimension values): they are appended without d1…d8, which saves eight
 * appender calls per row on the ingest path; the values come back exactly (strings as sent, missing as NULL).
 */
export const DELTA_DIMS = DIM_COLUMNS.map((d, i) => `json_extract_string(dim_key, '$[${i}]') AS ${d}`);

/**
 * The tables of distinct-value facts: `pending_facts` as appended (no dimension columns, like
 * the deltas: less work per row on the ingest path), `unique_facts` with d1…d8 once compacted.
 */
export const FACT_TABLES = ['unique_facts', 'pending_facts'];

/** Pending facts with their dimension columns read from `dim_key`, in `unique_facts`' column order. */
export const PENDING_FACTS_AS_UNIQUE = `SELECT meter, tenant, bucket_us, dim_key, ${DELTA_DIMS.join(', ')}, value FROM pending_facts`;

/** The tables compaction empties: pending deltas and pending facts. */
export const PENDING_TABLES = [...DELTA_TABLES, 'pending_facts'];

/** Every distinct-value fact, compacted or pending, as one relation. */
export const ALL_FACTS = `(SELECT * FROM unique_facts UNION ALL ${PENDING_FACTS_AS_UNIQUE})`;

/**
 * DuckDB schema. Times are BIGINT epoch microseconds so range filters push down to zone maps
 * without time-zone casts; `events` doubles as the dedupe ledger through its primary key.
 * Rollups are written as append-only minute partial aggregates (`rollup_deltas` and
 * `latest_deltas`, cheap to append) and compacted in the background into `rollups_minute|hour|day` (one row per bucket
 * and dimension values, plus per-tenant totals at hour and day); queries read both, so every
 * answer is exact whether or not compaction has run. Distinct-value facts (`pending_facts` as
 * appended, `unique_facts` once compacted) keep the values seen per (meter, tenant, minute,
 * dimensions) (a value once per flush window or backfill page; queries count distinct) so
 * UNIQUE_COUNT stays exact over any minute-aligned window.
 */
export const DDL = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (
     tenant VARCHAR NOT NULL, id VARCHAR NOT NULL, type VARCHAR NOT NULL, source VARCHAR NOT NULL,
     time_us BIGINT NOT NULL, actor VARCHAR, data VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
     ingested_us BIGINT NOT NULL, seq BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (tenant, id))`,
  // Stores created before the rollup watermark: their rows were rolled up in-transaction (seq 0).
  `ALTER TABLE events ADD COLUMN IF NOT EXISTS seq BIGINT DEFAULT 0`,
  `CREATE TABLE IF NOT EXISTS meters (slug VARCHAR PRIMARY KEY, definition VARCHAR NOT NULL, created_us BIGINT NOT NULL)`,
  ...COMPACTED_TABLES.map(
    (t) => `CREATE TABLE IF NOT EXISTS ${t} (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, res VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL,
     ${dimDdl}, cnt BIGINT NOT NULL, sum ${Q}, min ${Q}, max ${Q}, latest_value ${Q}, latest_us BIGINT, latest_id VARCHAR)`,
  ),
  `CREATE TABLE IF NOT EXISTS rollup_deltas (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL,
     cnt BIGINT NOT NULL, sum ${Q}, min ${Q}, max ${Q})`,
  `CREATE TABLE IF NOT EXISTS latest_deltas (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL,
     cnt BIGINT NOT NULL, latest_value ${Q}, latest_us BIGINT, latest_id VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS unique_facts (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL, ${dimDdl}, value VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS pending_facts (
     meter VARCHAR NOT NULL, tenant VARCHAR NOT NULL, bucket_us BIGINT NOT NULL, dim_key VARCHAR NOT NULL, value VARCHAR NOT NULL)`,
  // Ids of raw events retention deleted, kept until a re-send would be refused as too old
  // (privacy/retention): no primary key, so deleting them is cheap; looked up only for ids the
  // store's Bloom filter may have seen.
  `CREATE TABLE IF NOT EXISTS dedupe_ledger (tenant VARCHAR NOT NULL, id VARCHAR NOT NULL, content_hash VARCHAR NOT NULL, time_us BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS api_keys (
     id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, hash VARCHAR NOT NULL, scopes VARCHAR NOT NULL, tenant VARCHAR,
     created_us BIGINT NOT NULL, revoked_us BIGINT)`,
  // Expiry and allowed meters of portal keys: added in place to stores created before them.
  `ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_us BIGINT`,
  `ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS allowed_meters VARCHAR`,
  `ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS last_used_us BIGINT`,
];

/**
 * Engine settings. DuckDB checkpoints the WAL into the file inside the COMMIT that crosses the
 * threshold, and a checkpoint rewrites the primary-key index: a larger threshold means far
 * fewer of those stalls on the ingest path (the WAL keeps everything durable meanwhile).
 */
export const SETTINGS = [`SET checkpoint_threshold = '512MB'`];

/** Per-connection staging tables of the writer (temp: never persisted). */
export const STAGING_DDL = [
  `CREATE TEMP TABLE IF NOT EXISTS stage_keys (tenant VARCHAR, id VARCHAR)`,
];

/** Key columns of a rollup bucket. */
export const ROLLUP_KEY = ['meter', 'tenant', 'res', 'bucket_us', 'dim_key'];

/** The component columns of a rollup row, in the order of ROLLUP_MERGE. */
export const ROLLUP_COLUMNS = ['cnt', 'sum', 'min', 'max', 'latest_value', 'latest_us', 'latest_id'];

/** Merges partial aggregates (the same expressions serve compaction and queries). */
export const ROLLUP_MERGE = [
  'sum(cnt)::BIGINT',
  'sum(sum)',
  'min(min)',
  'max(max)',
  'arg_max(latest_value, (latest_us, latest_id))',
  'max(latest_us)',
  'arg_max(latest_id, (latest_us, latest_id))',
];

/**
 * Pending deltas (minute resolution) re-bucketed to `res`, with the same columns as `rollups`:
 * coarser resolutions are derived from minute deltas instead of being written at ingest.
 */
export function deltasAt(res: Resolution, totals = false): string {
  const w = RESOLUTION_MICROS[res];
  const dims = totals ? [`'${TOTAL_KEY}' AS dim_key`, ...DIM_COLUMNS.map((d) => `NULL::VARCHAR AS ${d}`)] : ['dim_key', ...DELTA_DIMS];
  const key = ['meter', 'tenant', `'${res}' AS res`, `(bucket_us // ${w}) * ${w} AS bucket_us`, ...dims, 'cnt'].join(', ');
  return (
    `SELECT ${key}, sum, min, max, NULL::${Q} AS latest_value, NULL::BIGINT AS latest_us, NULL::VARCHAR AS latest_id FROM rollup_deltas ` +
    `UNION ALL SELECT ${key}, NULL::${Q} AS sum, NULL::${Q} AS min, NULL::${Q} AS max, latest_value, latest_us, latest_id FROM latest_deltas`
  );
}

/**
 * Brings pending deltas of the one-table layout (with `res` and the latest columns) to the two
 * tables. `move` (one transaction, run while the `moveNeeds` columns exist) puts rows with a
 * latest into `latest_deltas` (with their count when they hold nothing else, else with 0 and
 * the count stays) and clears them from `rollup_deltas`, so running it again moves nothing;
 * then the `dropped` columns go (DuckDB alters a table in a transaction of its own; after a
 * crash between drops, the rest are dropped at the next open).
 */
export const SPLIT_DELTAS = {
  moveNeeds: ['latest_value', 'latest_us', 'latest_id'],
  move: [
    `INSERT INTO latest_deltas SELECT meter, tenant, bucket_us, dim_key,
       CASE WHEN sum IS NULL AND min IS NULL AND max IS NULL THEN cnt ELSE 0 END, latest_value, latest_us, latest_id
     FROM rollup_deltas WHERE latest_us IS NOT NULL`,
    `DELETE FROM rollup_deltas WHERE latest_us IS NOT NULL AND sum IS NULL AND min IS NULL AND max IS NULL`,
    `UPDATE rollup_deltas SET latest_value = NULL, latest_us = NULL, latest_id = NULL WHERE latest_us IS NOT NULL`,
  ],
  dropped: ['res', 'latest_value', 'latest_us', 'latest_id'],
};

/**
 * `dim_key` of the per-tenant total rows that compaction keeps at hour and day resolution, so
 * questions that neither group nor filter by a dimension read one row per tenant and bucket.
 */
export const TOTAL_KEY = '*';

/**
 * The table holding compacted rollups of one resolution; `totals` picks the per-tenant total
 * rows (hour and day only), kept apart so tenant-level questions scan one row per bucket.
 */
export function rollupTable(res: Resolution, totals = false): string {
  return totals && res !== 'minute' ? `rollups_${res}_total` : `rollups_${res}`;
}

/**
 * Compacted rollups of one resolution plus the pending deltas, as one relation: the per-tenant
 * total rows when `totals` (hour and day only), the per-dimension rows otherwise.
 */
export function rollupsAt(res: Resolution, totals: boolean): string {
  const useTotals = totals && res !== 'minute';
  return `(SELECT * FROM ${rollupTable(res, useTotals)} UNION ALL ${deltasAt(res, useTotals)})`;
}
