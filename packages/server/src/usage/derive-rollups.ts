import type { EventRecord } from '../events/event.ts';
import type { Meter } from '../meters/meter.ts';
import type { EpochMicros } from '../shared/time.ts';
import type { Components } from './components.ts';
import { RESOLUTIONS, type Resolution } from './resolution.ts';
import { RollupAccumulator } from './rollup-accumulator.ts';

/** One pre-aggregated rollup delta: add it to the bucket (series, tenant, res, bucket, dims). */
export interface RollupDelta {
  /** The rollup series (`Meter.series`: shared by meters that read the same, else the slug). */
  meter: string;
  tenant: string;
  res: Resolution;
  bucket: EpochMicros;
  dimKey: string;
  dims: (string | null)[];
  c: Components;
}

/** One distinct-value fact for a UNIQUE_COUNT meter: a value seen in a minute (`time`, the minute's start), so distinctness stays exact over minute-aligned windows. */
export interface UniqueFact {
  meter: string;
  tenant: string;
  time: EpochMicros;
  dimKey: string;
  dims: (string | null)[];
  value: string;
}

/** Everything the store writes besides the raw events. */
export interface DerivedRows {
  rollups: RollupDelta[];
  uniques: UniqueFact[];
  /** Events a meter could not read (only possible in a backfill over history). */
  skipped: number;
}

/**
 * Turns newly stored events into rollup deltas, pre-aggregated so the store writes each
 * bucket once per batch. `metersFor` picks the meters of an event type; `resolutions` are
 * the ones the store wants written (a store may derive coarser ones itself, as DuckDB does).
 * With `into`, the deltas are merged into that accumulator (its resolutions apply) and the
 * result's `rollups` is empty: the embedded store derives straight into its pending rollups.
 */
export function deriveRollups(events: readonly EventRecord[], metersFor: (type: string) => readonly Meter[], resolutions: readonly Resolution[] = RESOLUTIONS, into?: RollupAccumulator): DerivedRows {
  const acc = into ?? new RollupAccumulator(resolutions);
  const { uniques, skipped } = acc.addEvents(events, metersFor);
  return { rollups: into ? [] : acc.rollups, uniques, skipped };
}
