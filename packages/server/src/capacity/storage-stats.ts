/** The storage tiers the planner projects: raw events, each rollup resolution, unique facts, the rest. */
export const TIERS = ['raw', 'minute', 'hour', 'day', 'unique', 'other'] as const;
export type Tier = (typeof TIERS)[number];

/** What one tier occupies now, measured in the store. */
export interface TierMeasure {
  tier: Tier;
  tables: string[];
  bytes: number;
  rows: number;
}

/** A measurement of the whole store. */
export interface StorageMeasure {
  engine: string;
  /** How the bytes were measured (engine-specific, stated in the answer). */
  method: string;
  tiers: TierMeasure[];
  totalBytes: number;
}

/**
 * Reads what the store occupies per tier from the engine itself (capacity's own port; one
 * adapter per store: `duckdb/`, `clickhouse/`).
 */
export interface StorageStats {
  measure(): Promise<StorageMeasure>;
}

/** The tier a store table belongs to (tables of both stores; unknown tables: `other`). */
export function tierOf(table: string): Tier {
  if (table === 'events') return 'raw';
  if (table === 'rollups_minute' || table === 'rollup_deltas' || table === 'latest_deltas') return 'minute';
  if (table.startsWith('rollups_hour')) return 'hour';
  if (table.startsWith('rollups_day')) return 'day';
  if (table === 'unique_facts' || table === 'pending_facts') return 'unique';
  return 'other';
}

/** Sums per-table figures into tiers, in {@link TIERS} order. */
export function toTiers(tables: { table: string; bytes: number; rows: number; tier?: Tier }[]): TierMeasure[] {
  const by = new Map<Tier, TierMeasure>(TIERS.map((t) => [t, { tier: t, tables: [], bytes: 0, rows: 0 }]));
  for (const t of tables) {
    const m = by.get(t.tier ?? tierOf(t.table))!;
    if (!m.tables.includes(t.table)) m.tables.push(t.table);
    m.bytes += t.bytes;
    m.rows += t.rows;
  }
  return [...by.values()];
}
