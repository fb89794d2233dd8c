import type { EpochMicros } from '../../shared/time.ts';
import { MICROS_PER_DAY } from '../../shared/time.ts';
import { merge, type Components } from '../../usage/components.ts';
import type { RollupDelta } from '../../usage/derive-rollups.ts';
import { windowIndex } from '../../usage/windows.ts';
import type { AggregateQuery, AggregateRow } from '../port.ts';

/** Sizing of the in-memory day totals. */
export interface DayTotalsOptions {
  /** UTC days before today that are kept (queries starting earlier are answered by SQL). */
  days: number;
  /** Cells (meter × tenant × day) held at most; beyond it the tier switches itself off. */
  maxCells: number;
}

/** Default: two months of days (this month and the last, "the last 30 days"), at most 1 M cells. */
export const DEFAULT_DAY_TOTALS: DayTotalsOptions = { days: 62, maxCells: 1_000_000 };

/** A cell as loaded from the rollup tables. */
export interface DayTotalRow {
  meter: string;
  tenant: string;
  day: EpochMicros;
  components: Components;
}

/** One tenant's cells of one meter, indexed by day number minus the tier's `base`. */
type TenantDays = (Components | undefined)[];

/**
 * The hot tier of the embedded rollups: per-tenant totals per UTC day and meter, in memory,
 * for the recent days. It answers the most frequent questions (daily usage per tenant over a
 * month, one tenant's portal, a month's total) without a query to DuckDB, whose fixed cost
 * per query and per result cell is larger than the whole answer from memory.
 *
 * It is loaded once from the rollup tables at open and then kept equal to them: every batch of
 * minute deltas is folded in after the transaction that writes it has committed (flushes and
 * meter backfills), and compaction does not change totals. Exactness is the components' own:
 * merging is the same `merge` the SQL path's rows go through. Memory is bounded by `maxCells`:
 * past it the tier clears itself and every query goes to SQL, which stays authoritative.
 */
export class DayTotals {
  private readonly meters = new Map<string, Map<string, TenantDays>>();
  /** Tenants of a meter in code-unit order (answers are ordered by tenant); dropped when one is added. */
  private readonly sortedTenants = new Map<string, string[]>();
  private cells = 0;
  private off = false;
  /** Day number (days since the epoch) of index 0 of every tenant's array: the first day held. */
  private base: number;

  constructor(
    private readonly opts: DayTotalsOptions,
    private readonly nowMicros: () => EpochMicros,
  ) {
    this.base = this.horizon() / MICROS_PER_DAY;
  }

  /** The first day kept at the current time. */
  private horizon(): EpochMicros {
    return (Math.floor(this.nowMicros() / MICROS_PER_DAY) - this.opts.days) * MICROS_PER_DAY;
  }

  /** Start of the first day held: loads read from there, and queries from there on are served. */
  get firstDay(): EpochMicros {
    return this.base * MICROS_PER_DAY;
  }

  /** Cells held. */
  get size(): number {
    return this.cells;
  }

  /** Adds loaded cells (a cell may come in several parts, e.g. compacted and pending: they merge). */
  load(rows: Iterable<DayTotalRow>): void {
    for (const r of rows) {
      if (this.off) return;
      const day = r.day / MICROS_PER_DAY;
      if (day >= this.base) this.add(r.meter, r.tenant, day, r.components);
    }
  }

  /** Folds committed minute deltas in (other resolutions are ignored: they are derived from minutes). */
  fold(deltas: readonly RollupDelta[]): void {
    if (this.off) return;
    const horizon = this.horizon() / MICROS_PER_DAY;
    if (horizon > this.base) this.evictBefore(horizon);
    for (let i = 0; i < deltas.length; i++) {
      const d = deltas[i]!;
      if (d.res !== 'minute') continue;
      const day = Math.floor(d.bucket / MICROS_PER_DAY);
      if (day < this.base) continue;
      this.add(d.meter, d.tenant, day, d.c);
      if (this.off) return;
    }
  }

  /**
   * True when `q` at resolution `res` can be answered from memory: per-tenant totals (no
   * dimension groups or filters) of day-aligned windows that start within the days held.
   */
  serves(q: AggregateQuery, res: string): boolean {
    return !this.off && res === 'day' && q.groupDims.length === 0 && q.filters.length === 0 && q.from >= this.firstDay;
  }

  /**
   * The answer cells of `q` (which `serves`), ordered by window, then tenant: a day's cell
   * goes to the window holding it (the query's resolution is `day`, so windows are whole days).
   * Cells are never changed once handed out (folds replace them), so an answer stays as given.
   */
  answer(q: AggregateQuery): AggregateRow[] {
    const byTenant = this.meters.get(q.meter);
    if (!byTenant) return [];
    const windowCount = q.windows.kind === 'uniform' ? q.windows.count : q.windows.boundaries.length - 1;
    const windowOf = windowLocator(q);
    let tenants = q.tenants ? [...new Set(q.tenants)].filter((t) => byTenant.has(t)).sort(byCodeUnit) : this.tenantsOf(q.meter, byTenant);
    if (q.excludeTenants?.length) tenants = tenants.filter((t) => !q.excludeTenants!.includes(t));
    const first = q.from / MICROS_PER_DAY - this.base;
    const last = q.to / MICROS_PER_DAY - this.base; // exclusive; both whole (resolution day)
    if (q.groupByTenant && q.windows.kind === 'uniform' && q.windows.width === MICROS_PER_DAY && q.windows.origin === q.from) {
      return dailyPerTenant(byTenant, tenants, first, windowCount);
    }
    const groups = q.groupByTenant ? tenants.length : 1;
    const acc: (Components | undefined)[] = new Array(groups * windowCount).fill(undefined);
    // A slot first borrows the (immutable) cell; it is copied only when a second day merges in.
    const owned = new Uint8Array(groups * windowCount);
    for (let g = 0; g < tenants.length; g++) {
      const days = byTenant.get(tenants[g]!)!;
      const at = q.groupByTenant ? g * windowCount : 0;
      const end = Math.min(last, days.length);
      for (let i = first; i < end; i++) {
        const c = days[i];
        if (c === undefined) continue;
        const slot = at + windowOf((this.base + i) * MICROS_PER_DAY);
        const cur = acc[slot];
        if (cur === undefined) acc[slot] = c;
        else if (owned[slot] === 1) merge(cur, c);
        else {
          owned[slot] = 1;
          acc[slot] = merge(copy(cur), c);
        }
      }
    }
    const out: AggregateRow[] = [];
    const noDims: (string | null)[] = [];
    for (let w = 0; w < windowCount; w++) {
      for (let g = 0; g < groups; g++) {
        const c = acc[g * windowCount + w];
        if (c !== undefined) out.push({ window: w, tenant: q.groupByTenant ? tenants[g]! : null, dims: noDims, components: c });
      }
    }
    return out;
  }

  private tenantsOf(meter: string, byTenant: Map<string, TenantDays>): string[] {
    let sorted = this.sortedTenants.get(meter);
    if (!sorted) this.sortedTenants.set(meter, (sorted = [...byTenant.keys()].sort(byCodeUnit)));
    return sorted;
  }

  /** Merges `c` into the cell of (meter, tenant, day number `day` ≥ base). */
  private add(meter: string, tenant: string, day: number, c: Components): void {
    let byTenant = this.meters.get(meter);
    if (!byTenant) this.meters.set(meter, (byTenant = new Map()));
    let days = byTenant.get(tenant);
    if (!days) {
      byTenant.set(tenant, (days = []));
      this.sortedTenants.delete(meter);
    }
    const i = day - this.base;
    while (days.length <= i) days.push(undefined);
    const cur = days[i];
    // Copy on write: a cell may be part of an answer still being read.
    if (cur) days[i] = merge(copy(cur), c);
    else {
      days[i] = copy(c);
      if (++this.cells > this.opts.maxCells) this.switchOff();
    }
  }

  /** Drops the days before day number `horizon` (queries that reach back that far go to SQL). */
  private evictBefore(horizon: number): void {
    const drop = horizon - this.base;
    this.base = horizon;
    for (const byTenant of this.meters.values()) {
      for (const days of byTenant.values()) {
        for (const c of days.splice(0, drop)) if (c !== undefined) this.cells--;
      }
    }
  }

  /** Forgets one series' cells (before they are loaded again from the tables). */
  drop(series: string): void {
    const byTenant = this.meters.get(series);
    if (!byTenant) return;
    for (const days of byTenant.values()) for (const c of days) if (c !== undefined) this.cells--;
    this.meters.delete(series);
    this.sortedTenants.delete(series);
  }

  /** Past the bound: hold nothing, serve nothing (SQL answers everything). */
  private switchOff(): void {
    this.off = true;
    this.meters.clear();
    this.sortedTenants.clear();
    this.cells = 0;
  }
}

/**
 * The most common question (daily usage per tenant): one cell per (day, tenant), read in
 * answer order without accumulators; cells are handed out as they are (never changed later).
 */
function dailyPerTenant(byTenant: Map<string, TenantDays>, tenants: readonly string[], first: number, days: number): AggregateRow[] {
  const out: AggregateRow[] = [];
  const noDims: (string | null)[] = [];
  const columns = tenants.map((t) => byTenant.get(t)!);
  for (let w = 0; w < days; w++) {
    for (let g = 0; g < columns.length; g++) {
      const c = columns[g]![first + w];
      if (c !== undefined) out.push({ window: w, tenant: tenants[g]!, dims: noDims, components: c });
    }
  }
  return out;
}

function copy(c: Components): Components {
  return { count: c.count, sum: c.sum, min: c.min, max: c.max, latest: c.latest };
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Maps a day's start to its window index (the day lies inside one window). */
function windowLocator(q: AggregateQuery): (day: EpochMicros) => number {
  const layout = q.windows;
  if (layout.kind === 'uniform') return (day) => Math.floor((day - layout.origin) / layout.width);
  return (day) => windowIndex(layout.boundaries, day);
}
