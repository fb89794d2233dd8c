/**
 * A rollup's or unique fact's dimension values, in the meter's (sorted) dimension order: one
 * array column rather than a Nullable column per dimension, because every column stream is two
 * files and two ~1 MiB buffers in each part an insert writes (on 18.16 that, not the rows, is
 * most of an insert's cost). Dimension i is read as `dims[i + 1]` (NULL when absent).
 */
const dims = 'dims Array(Nullable(String))';

/** The SQL expression of dimension `i` (0-based) of a rollup or unique fact. */
export function dimColumn(i: number): string {
  return `dims[${i + 1}]`;
}

/** Every stored quantity: exact, 12 fractional digits (see shared/decimal.ts). `Decimal(38, 12)` is Decimal128 on 18.16 and now. */
const Q = 'Nullable(Decimal(38, 12))';

const EVENT_COLS = 'tenant String, id String, type String, source String, time_us Int64, actor Nullable(String), data String, content_hash String, ingested_us Int64, part Int32, seq UInt64';
const ROLLUP_COLS = `meter String, tenant String, res String, bucket_us Int64, dim_key String, ${dims}, cnt Int64, q_sum ${Q}, q_min ${Q}, q_max ${Q}, latest_value ${Q}, latest_us Nullable(Int64), latest_id Nullable(String)`;
const UNIQUE_COLS = `meter String, tenant String, time_us Int64, dim_key String, ${dims}, value String`;

/** Union of all columns, for the `ingest` (Null engine) table every write goes through. */
const INGEST_COLS = `${EVENT_COLS}, meter String, res String, bucket_us Int64, dim_key String, ${dims}, cnt Int64, q_sum ${Q}, q_min ${Q}, q_max ${Q}, latest_value ${Q}, latest_us Nullable(Int64), latest_id Nullable(String), value String, at_us Int64`;

/** Column names (no types) of a column list. */
const names = (cols: string): string => cols.split(/,\s*(?![^()]*\))/).map((c) => c.trim().split(' ')[0]).join(', ');
/** Column names of the `ingest` table, in order (the RowBinary rows of rows.ts follow it). */
export const INGEST_COLUMNS: readonly string[] = ['kind', ...names(INGEST_COLS).split(', ')];

const DAY = 86_400_000_000;
const WEEK = 7 * DAY;

/**
 * Integer partition keys, so retention drops whole partitions (`ALTER TABLE … DROP PARTITION
 * <n>`, the same on 18.16 and current servers; privacy/retention). Raw events by UTC day, the
 * correction events of a day apart (odd keys: never dropped); rollups by tier and period
 * (minute: week, hour: 30 days, day: 365 days) so a backfill insert touches few partitions
 * (current servers refuse an insert block spanning more than 100); facts by week; the dedupe
 * ledger by day. Databases created before these keys are unpartitioned: retention refuses them.
 */
export const PARTITION_KEYS = {
  events: `intDiv(time_us, ${DAY}) * 2 + (type = 'tally.correction')`,
  rollups: `multiIf(res = 'minute', 0, res = 'hour', 1, 2) * 1000000 + intDiv(bucket_us, multiIf(res = 'minute', ${WEEK}, res = 'hour', ${30 * DAY}, ${365 * DAY}))`,
  unique_facts: `intDiv(time_us, ${WEEK})`,
  dedupe_ledger: `intDiv(time_us, ${DAY})`,
} as const;

/** Width of a partition per retention tier (µs) and how its integer key encodes a period index. */
export const TIER_PARTITIONS = {
  raw: { table: 'events', width: DAY, key: (i: number) => i * 2 },
  minute: { table: 'rollups', width: WEEK, key: (i: number) => i },
  hour: { table: 'rollups', width: 30 * DAY, key: (i: number) => 1_000_000 + i },
  day: { table: 'rollups', width: 365 * DAY, key: (i: number) => 2_000_000 + i },
  unique: { table: 'unique_facts', width: WEEK, key: (i: number) => i },
  ledger: { table: 'dedupe_ledger', width: DAY, key: (i: number) => i },
} as const;

/**
 * ClickHouse schema, written for 18.16 and current servers alike: MergeTree family with
 * `ORDER BY`, no JSON/LowCardinality types, no nullable keys, `Decimal(38, 12)` quantities.
 *
 * Writes go through ONE insert into the `ingest` table (engine Null): materialized views route
 * its rows by `kind` to `events` (e), `rollups` (r, append-only partial aggregates merged at
 * query time), `unique_facts` (u) and `marks` (m: the per-partition stream watermark). One
 * INSERT is one block, so a client that dies mid-request writes nothing, and a batch's
 * events, rollups and watermark land together (docs/distributed.md has the guarantee).
 */
export function ddl(db: string): string[] {
  const t = (name: string) => `${db}.${name}`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t('meta')} (key String, value String, ver Int64) ENGINE = ReplacingMergeTree(ver) ORDER BY key`,
    `CREATE TABLE IF NOT EXISTS ${t('events')} (${EVENT_COLS}) ENGINE = MergeTree PARTITION BY ${PARTITION_KEYS.events} ORDER BY (tenant, id)`,
    `CREATE TABLE IF NOT EXISTS ${t('meters')} (slug String, definition String, created_us Int64) ENGINE = MergeTree ORDER BY slug`,
    `CREATE TABLE IF NOT EXISTS ${t('rollups')} (${ROLLUP_COLS}) ENGINE = MergeTree PARTITION BY ${PARTITION_KEYS.rollups} ORDER BY (meter, res, tenant, bucket_us, dim_key)`,
    `CREATE TABLE IF NOT EXISTS ${t('unique_facts')} (${UNIQUE_COLS}) ENGINE = MergeTree PARTITION BY ${PARTITION_KEYS.unique_facts} ORDER BY (meter, tenant, time_us)`,
    `CREATE TABLE IF NOT EXISTS ${t('dedupe_ledger')} (tenant String, id String, content_hash String, time_us Int64, part Int32) ENGINE = MergeTree PARTITION BY ${PARTITION_KEYS.dedupe_ledger} ORDER BY (tenant, id)`,
    `CREATE TABLE IF NOT EXISTS ${t('marks')} (part Int32, seq UInt64, at_us Int64) ENGINE = MergeTree ORDER BY (part, seq)`,
    `CREATE TABLE IF NOT EXISTS ${t('api_keys')} (id String, name String, hash String, scopes String, tenant Nullable(String), created_us Int64, revoked_us Nullable(Int64), ver Int64)
       ENGINE = ReplacingMergeTree(ver) ORDER BY id`,
    // Last use per key: its own table (the highest time wins at merge and at read), so a use never races a revocation's row version.
    `CREATE TABLE IF NOT EXISTS ${t('api_key_uses')} (id String, last_used_us Int64) ENGINE = ReplacingMergeTree(last_used_us) ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS ${t('ingest')} (kind String, ${INGEST_COLS}) ENGINE = Null`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${t('ingest_events')} TO ${t('events')} AS SELECT ${names(EVENT_COLS)} FROM ${t('ingest')} WHERE kind = 'e'`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${t('ingest_rollups')} TO ${t('rollups')} AS SELECT ${names(ROLLUP_COLS)} FROM ${t('ingest')} WHERE kind = 'r'`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${t('ingest_uniques')} TO ${t('unique_facts')} AS SELECT ${names(UNIQUE_COLS)} FROM ${t('ingest')} WHERE kind = 'u'`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${t('ingest_marks')} TO ${t('marks')} AS SELECT part, seq, at_us FROM ${t('ingest')} WHERE kind = 'm'`,
  ];
}

/**
 * Columns added to tables after their first release, as [table, column, type]: the expiry and
 * allowed meters (a JSON array) of portal keys. 18.16 has no `ADD COLUMN IF NOT EXISTS`, so
 * `open` adds each one `system.columns` lacks.
 */
export const ADDED_COLUMNS: readonly (readonly [string, string, string])[] = [
  ['api_keys', 'expires_us', 'Nullable(Int64)'],
  ['api_keys', 'allowed_meters', 'Nullable(String)'],
];

/** A query that answers 1 when the database has the per-dimension columns (d1…d8) of versions before `dims`. */
export function legacyLayoutQuery(db: string): string {
  return `SELECT count() FROM system.columns WHERE database = '${db}' AND table IN ('rollups', 'unique_facts', 'ingest') AND name = 'd1'`;
}

/** Merges partial aggregates of `rollups` at query time (count, sum, min, max, latest by (time, id)). */
export const ROLLUP_MERGE = [
  'sum(cnt)',
  'sum(q_sum)',
  'min(q_min)',
  'max(q_max)',
  'argMax(latest_value, (latest_us, latest_id))',
  'max(latest_us)',
  'argMax(latest_id, (latest_us, latest_id))',
];
