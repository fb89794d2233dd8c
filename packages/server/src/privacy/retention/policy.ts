import { z } from 'zod';
import { TallyError } from '../../errors/registry.ts';
import { MICROS_PER_DAY, formatMicros, type EpochMicros } from '../../shared/time.ts';

const days = (d: number | null, what: string) =>
  z.number().int().min(1).max(36_500).nullable().default(d).describe(`${what}: days to keep (null: forever)`);

/**
 * `retention` in the config: how long each tier is kept, in days (null: forever). The
 * defaults keep what billing disputes and recomputation need (raw events beyond a year) and
 * drop the bulky fine-grained tiers early. docs/privacy.md has the table.
 */
export const retentionConfigSchema = z
  .object({
    raw: days(400, 'raw events (billing recomputes invoices and disputes from them)'),
    minute: days(35, 'minute rollups'),
    hour: days(400, 'hour rollups'),
    day: days(1825, 'day rollups'),
    unique: days(35, 'per-minute unique-value facts (UNIQUE_COUNT)'),
    archive: days(null, 'archive partitions (Parquet, by ingest day)'),
    accessLog: days(400, 'access log entries (a checkpoint keeps the hash chain verifiable)'),
    alerts: days(400, 'alert history (resolved alerts and their deliveries)'),
    schedule: z.string().default('30 1 * * *').describe('cron (UTC) of the retention job'),
  })
  .strict();

/** The retention config. */
export type RetentionConfig = z.infer<typeof retentionConfigSchema>;

/** The tiers of the usage store the retention job drops from (the ledger is sized by ingest, not by config). */
export const STORE_TIERS = ['raw', 'minute', 'hour', 'day', 'unique', 'ledger'] as const;
export type StoreTier = (typeof STORE_TIERS)[number];

/** Human names of the tiers, for messages. */
export const TIER_NAMES: Record<StoreTier, string> = {
  raw: 'raw events',
  minute: 'minute rollups',
  hour: 'hour rollups',
  day: 'day rollups',
  unique: 'unique-value facts',
  ledger: 'dedupe ledger',
};

/**
 * Per tier, the time before which the store may no longer hold that tier's data (epoch µs):
 * written by the retention job BEFORE it deletes anything, read by every query that needs the
 * tier. Absent: nothing was ever deleted.
 */
export type Horizons = Partial<Record<StoreTier, EpochMicros>> & {
  /** The latest ingest time of a deleted raw event: an ingest day from then on can no longer be archived complete. */
  rawIngested?: EpochMicros;
};

/** Meta key of the horizons (a JSON object) in the usage store. */
export const HORIZONS_KEY = 'retention.horizons';

/** The minimal store surface the horizons live in (UsageStore's meta). */
export interface MetaStore {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}

/** The recorded horizons (empty when retention never ran). */
export async function readHorizons(store: MetaStore): Promise<Horizons> {
  const text = await store.getMeta(HORIZONS_KEY);
  return text === undefined ? {} : (JSON.parse(text) as Horizons);
}

/** Moves horizons forward (never back: deleted data does not come back). */
export async function advanceHorizons(store: MetaStore, next: Horizons): Promise<Horizons> {
  const cur = await readHorizons(store);
  const merged: Horizons = { ...cur };
  for (const [tier, at] of Object.entries(next) as [StoreTier | 'rawIngested', number][]) merged[tier] = Math.max(cur[tier] ?? Number.MIN_SAFE_INTEGER, at);
  await store.setMeta(HORIZONS_KEY, JSON.stringify(merged));
  return merged;
}

/**
 * Throws RETENTION_EXCEEDED when a question over [from, …) needs `tier` data that retention
 * deleted: the answer would be partial, and Tally never answers with a partial number.
 */
export function assertHeld(horizons: Horizons, tier: StoreTier, from: EpochMicros, retentionDays?: number | null): void {
  const h = horizons[tier];
  if (h === undefined || from >= h) return;
  const kept = retentionDays ? ` (retention.${tier}: ${retentionDays} days)` : '';
  throw new TallyError('RETENTION_EXCEEDED', `the range starts at ${formatMicros(from)}, but ${TIER_NAMES[tier]} are kept only from ${formatMicros(h)} on${kept}; ask from ${formatMicros(h)} or with a coarser windowSize`, {
    tier,
    retentionDays: retentionDays ?? null,
    heldFrom: formatMicros(h),
  });
}

/** Reads the horizons and checks one tier (see `assertHeld`). */
export async function assertRetained(store: MetaStore, tier: StoreTier, from: EpochMicros): Promise<void> {
  assertHeld(await readHorizons(store), tier, from);
}

/** The time `days` days before `now` (null days: never). */
export function cutoffOf(now: EpochMicros, days: number | null): EpochMicros | null {
  return days === null ? null : now - days * MICROS_PER_DAY;
}

/**
 * How long the dedupe ledger must remember an id after its event's time: an event is accepted
 * only while `time >= now - backfillDays` (and not beyond the future skew), so once its time is
 * older than that a re-send is refused as INVALID_TIME and cannot count twice. One day more
 * covers partition rounding and the skew.
 */
export function ledgerCutoff(now: EpochMicros, backfillDays: number, maxFutureMicros: number): EpochMicros {
  return now - backfillDays * MICROS_PER_DAY - maxFutureMicros - MICROS_PER_DAY;
}
