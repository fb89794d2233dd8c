import type { DerivedRows, UniqueFact } from '../../usage/derive-rollups.ts';
import { RollupAccumulator } from '../../usage/rollup-accumulator.ts';
import { MICROS_PER_MINUTE } from '../../shared/time.ts';

/**
 * Rollup deltas and unique facts of committed events that are not yet written to the rollup
 * tables, merged in memory (many events of a busy minute become one row). `seq` is the
 * highest event sequence they cover: flushing them writes that watermark in the same
 * transaction, and a restart replays the events above it, so each event reaches the
 * rollups exactly once.
 */
export class PendingRollups {
  /** Minute deltas; committed batches are derived straight into it (`DuckDbStore`). */
  readonly deltas = new RollupAccumulator(['minute']);
  private uniques = new Map<string, UniqueFact>();
  private oldest = 0;
  seq = 0;

  /**
   * Adds the rows derived from events up to sequence `seq` (only minute deltas are kept; rows
   * derived straight into `deltas` are already in). Takes ownership of the rows: they are
   * merged into in place, not copied.
   */
  add(derived: DerivedRows, seq: number): void {
    if (this.oldest === 0) this.oldest = Date.now();
    for (const d of derived.rollups) this.deltas.addDelta(d);
    for (const u of derived.uniques) {
      const time = Math.floor(u.time / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
      const key = `${u.meter}\u0000${u.tenant}\u0000${time}\u0000${u.dimKey}\u0000${u.value}`;
      if (!this.uniques.has(key)) {
        u.time = time;
        this.uniques.set(key, u);
      }
    }
    this.seq = Math.max(this.seq, seq);
  }

  /** Rows held (delta rows plus unique facts). */
  get size(): number {
    return this.deltas.size + this.uniques.size;
  }

  /** Milliseconds since the oldest held row arrived (0 when empty). */
  get ageMs(): number {
    return this.size === 0 ? 0 : Date.now() - this.oldest;
  }

  /** The rows to write. */
  rows(): DerivedRows {
    return { rollups: this.deltas.rollups, uniques: [...this.uniques.values()], skipped: 0 };
  }
}
