import type { DerivedRows, UniqueFact } from '../../usage/derive-rollups.ts';
import { RollupAccumulator } from '../../usage/rollup-accumulator.ts';

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
  private readonly uniques: UniqueFact[] = [];
  private oldest = 0;
  seq = 0;

  /**
   * Adds rows derived from events up to sequence `seq`, taking ownership of them (deltas are
   * merged into in place, not copied). With `derivedInto`, they were derived straight into
   * `deltas`, which has counted their deltas and seen their facts already. Otherwise (rows of
   * a failed flush, put back) facts `deltas` has seen are dropped.
   */
  add(derived: DerivedRows, seq: number, derivedInto = false): void {
    if (this.oldest === 0) this.oldest = Date.now();
    for (const d of derived.rollups) this.deltas.addDelta(d);
    for (const u of derived.uniques) if (derivedInto || this.deltas.addFact(u)) this.uniques.push(u);
    this.seq = Math.max(this.seq, seq);
  }

  /** Rows held (delta rows plus unique facts). */
  get size(): number {
    return this.deltas.size + this.uniques.length;
  }

  /** Milliseconds since the oldest held row arrived (0 when empty). */
  get ageMs(): number {
    return this.size === 0 ? 0 : Date.now() - this.oldest;
  }

  /** The rows to write. */
  rows(): DerivedRows {
    return { rollups: this.deltas.rollups, uniques: this.uniques, skipped: 0 };
  }
}
