import type { DerivedRows, RollupDelta, UniqueFact } from '../../usage/derive-rollups.ts';
import { merge } from '../../usage/components.ts';
import { MICROS_PER_MINUTE } from '../../shared/time.ts';

/**
 * Rollup deltas and unique facts of committed events that are not yet written to the rollup
 * tables, merged in memory (many events of a busy minute become one row). `seq` is the
 * highest event sequence they cover: flushing them writes that watermark in the same
 * transaction, and a restart replays the events above it, so each event reaches the
 * rollups exactly once.
 */
export class PendingRollups {
  private deltas = new Map<string, RollupDelta>();
  private uniques = new Map<string, UniqueFact>();
  private oldest = 0;
  seq = 0;

  /**
   * Adds the rows derived from events up to sequence `seq` (only minute deltas are kept). Takes
   * ownership of the rows: they are merged into in place, not copied.
   */
  add(derived: DerivedRows, seq: number): void {
    if (this.size === 0) this.oldest = Date.now();
    for (const d of derived.rollups) {
      if (d.res !== 'minute') continue;
      const key = d.key ?? `${d.meter}\u0000${d.tenant}\u0000${d.dimKey}\u0000${d.res}${d.bucket}`;
      const cur = this.deltas.get(key);
      if (cur) merge(cur.c, d.c);
      else this.deltas.set(key, d);
    }
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
    return { rollups: [...this.deltas.values()], uniques: [...this.uniques.values()], skipped: 0 };
  }

  clear(): void {
    this.deltas = new Map();
    this.uniques = new Map();
  }
}
