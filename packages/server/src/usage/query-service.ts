import { scanEffective, voidedKeys } from '../audit/corrections/effective-events.ts';
import { TallyError } from '../errors/registry.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { formatScaled } from '../shared/decimal.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE, formatMicros, type Clock, type EpochMicros } from '../shared/time.ts';
import type { AggregateQuery, AggregateRow, UniqueRow, UsageStore } from '../store/port.ts';
import { merge, single, valueOf } from './components.ts';
import { assertHeld, readHorizons, type StoreTier } from '../privacy/retention/policy.ts';
import { timeWeighted, type TimeWeightedRow } from './time-weighted-query.ts';
import { coarsestFor, type Resolution } from './resolution.ts';
import { layoutWindows, windowIndex, type WindowSize } from './windows.ts';

/** A usage question as the API takes it (already parsed). */
export interface UsageQuery {
  meter: string;
  from?: EpochMicros;
  to?: EpochMicros;
  windowSize?: WindowSize;
  windowTimeZone?: string;
  tenants?: string[];
  groupBy?: string[];
  filterGroupBy?: Record<string, string[]>;
  /** Also count the hidden (canary) tenants when no tenants are named (reconciliation does). */
  includeHidden?: boolean;
}

/** One row of the answer; `value` is an exact decimal string (null when undefined, e.g. MIN of nothing). */
export interface UsageRow {
  value: string | null;
  windowStart: string;
  windowEnd: string;
  tenant: string | null;
  groupBy: Record<string, string | null>;
}

/** The answer, saying which resolution served it. */
export interface UsageResult {
  meter: string;
  aggregation: string;
  from: string;
  to: string;
  windowSize: WindowSize | null;
  windowTimeZone: string;
  resolution: Resolution | 'raw';
  data: UsageRow[];
}

/** Default range when `from` is omitted: the 24 hours before `to`. */
export const DEFAULT_RANGE_MICROS = MICROS_PER_DAY;

/**
 * Answers usage queries from the coarsest rollup that tiles the windows exactly, from
 * per-event unique facts for UNIQUE_COUNT, and from raw events when a boundary falls inside
 * a minute. Every path yields the same exact numbers (a property test checks it).
 */
export class QueryService {
  constructor(
    private readonly store: UsageStore,
    private readonly meters: MeterRegistry,
    private readonly clock: Clock,
    /**
     * Tenants left out of answers that name no tenants (the canary tenants, docs/audit.md):
     * synthetic traffic is not usage. Named explicitly (`tenants`), they are answered as usual.
     */
    private readonly hidden: readonly string[] = [],
  ) {}

  async query(q: UsageQuery): Promise<UsageResult> {
    const meter = this.meters.get(q.meter);
    if (!meter) throw new TallyError('NOT_FOUND', `no meter "${q.meter}"`);
    const to = q.to ?? Math.ceil(this.clock.nowMicros() / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    const from = q.from ?? to - DEFAULT_RANGE_MICROS;
    const tz = q.windowTimeZone ?? 'UTC';
    const windows = layoutWindows(from, to, q.windowSize, tz);
    const groupBy = q.groupBy ?? [];
    const groupDims = groupBy.filter((g) => g !== 'tenant').map((g) => dimIndex(meter, g, 'groupBy'));
    const filters = Object.entries(q.filterGroupBy ?? {}).map(([dim, values]) => ({ dim: dimIndex(meter, dim, `filterGroupBy[${dim}]`), values }));
    const aq: AggregateQuery = { meter: meter.series, from, to, windows: windows.layout, groupByTenant: groupBy.includes('tenant'), groupDims, filters, aggregation: meter.def.aggregation };
    if (q.tenants && q.tenants.length > 0) aq.tenants = q.tenants;
    else if (this.hidden.length > 0 && q.includeHidden !== true) aq.excludeTenants = [...this.hidden];

    const horizonsBefore = await readHorizons(this.store);
    let resolution: Resolution | 'raw';
    let cells: (UniqueRow | AggregateRow | TimeWeightedRow)[];
    let valueAt: (cell: UniqueRow | AggregateRow | TimeWeightedRow) => string | null;
    // Corrections retract only counts and sums from the rollups (and nothing from unique facts):
    // the other aggregations are computed from the raw events when the range holds a correction.
    const retractable = meter.def.aggregation === 'COUNT' || meter.def.aggregation === 'SUM' || meter.def.aggregation === 'AVG';
    const corrected = !retractable && meter.def.aggregation !== 'TIME_WEIGHTED_SUM' && (await voidedKeys(this.store, meter.def.eventType, from, to, aq.tenants)).size > 0;
    if (meter.def.aggregation === 'TIME_WEIGHTED_SUM') {
      // Integrated from the samples (raw events) with the carry-in from the rollups: see timeWeighted.
      resolution = 'raw';
      cells = await timeWeighted(this.store, meter, aq, windows.boundaries, this.clock.nowMicros());
      valueAt = (cell) => formatScaled((cell as TimeWeightedRow).scaled);
    } else if (meter.def.aggregation === 'UNIQUE_COUNT') {
      // Distinct values are kept per minute: exact for minute-aligned windows, raw otherwise.
      resolution = corrected || coarsestFor(windows.boundaries) === 'raw' ? 'raw' : 'minute';
      cells = resolution === 'raw' ? await this.rawUnique(meter, aq, windows.boundaries) : await this.store.countUnique(aq);
      valueAt = (cell) => (cell as UniqueRow).count.toString();
    } else {
      resolution = corrected ? 'raw' : coarsestFor(windows.boundaries);
      cells = resolution === 'raw' ? await this.rawAggregate(meter, aq, windows.boundaries) : await this.store.aggregate(aq, resolution);
      // A group whose every event was voided has rollup rows that add up to nothing: no events, no row (as from raw).
      if (resolution !== 'raw') cells = (cells as AggregateRow[]).filter((c) => c.components.count !== 0n);
      const aggregation = meter.def.aggregation;
      valueAt = aggregation === 'COUNT' ? (cell) => (cell as AggregateRow).components.count.toString() : (cell) => valueOf(aggregation, (cell as AggregateRow).components);
    }
    // Checked after reading too: a retention run that deleted meanwhile records its horizon
    // before deleting, so a read that may have missed rows is refused, never answered.
    const tier: StoreTier = meter.def.aggregation === 'UNIQUE_COUNT' && resolution === 'minute' ? 'unique' : resolution;
    assertHeld(horizonsBefore, tier, from);
    assertHeld(await readHorizons(this.store), tier, from);
    const rows = inAnswerOrder(cells, windows.boundaries.length - 1);
    const soleTenant = aq.tenants?.length === 1 ? aq.tenants[0]! : null;
    const groupNames = groupDims.map((d) => meter.dimensions[d]!);
    const noGroups = Object.freeze({});
    const labels = windows.boundaries.map(formatMicros);
    // A plain loop into a sized array: answers of 30,000 cells are common (a month per tenant).
    const data: UsageRow[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      data[i] = {
        value: valueAt(r),
        windowStart: labels[r.window]!,
        windowEnd: labels[r.window + 1]!,
        tenant: aq.groupByTenant ? r.tenant : soleTenant,
        groupBy: groupNames.length === 0 ? noGroups : Object.fromEntries(groupNames.map((n, k) => [n, r.dims[k] ?? null])),
      };
    }
    return {
      meter: meter.slug,
      aggregation: meter.def.aggregation,
      from: formatMicros(from),
      to: formatMicros(to),
      windowSize: q.windowSize ?? null,
      windowTimeZone: tz,
      resolution,
      data,
    };
  }

  /** Counts distinct values from raw events, for windows that are not whole minutes. */
  private async rawUnique(meter: Meter, q: AggregateQuery, boundaries: EpochMicros[]): Promise<UniqueRow[]> {
    const groups = new Map<string, { row: UniqueRow; values: Set<string> }>();
    for await (const page of scanEffective(this.store, meter.def.eventType, q.from, q.to, q.tenants)) {
      for (const e of page) {
        if (q.excludeTenants?.includes(e.tenant)) continue;
        const r = evaluateMeter(meter, e);
        if (r === null || isMeterProblem(r) || r.unique === undefined) continue;
        if (q.filters.some((f) => !f.values.includes(r.dims[f.dim] as string))) continue;
        const window = windowIndex(boundaries, e.time);
        const tenant = q.groupByTenant ? e.tenant : null;
        const dims = q.groupDims.map((d) => r.dims[d] ?? null);
        const key = JSON.stringify([window, tenant, dims]);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { row: { window, tenant, dims, count: 0n }, values: new Set() }));
        g.values.add(r.unique);
      }
    }
    return [...groups.values()].map((g) => ({ ...g.row, count: BigInt(g.values.size) }));
  }

  /** Aggregates raw events in process, with the same evaluation and merge as the rollups. */
  private async rawAggregate(meter: Meter, q: AggregateQuery, boundaries: EpochMicros[]): Promise<AggregateRow[]> {
    const groups = new Map<string, AggregateRow>();
    for await (const page of scanEffective(this.store, meter.def.eventType, q.from, q.to, q.tenants)) {
      for (const e of page) {
        if (q.excludeTenants?.includes(e.tenant)) continue;
        const r = evaluateMeter(meter, e);
        if (r === null || isMeterProblem(r)) continue;
        if (q.filters.some((f) => !f.values.includes(r.dims[f.dim] as string))) continue;
        const window = windowIndex(boundaries, e.time);
        const tenant = q.groupByTenant ? e.tenant : null;
        const dims = q.groupDims.map((d) => r.dims[d] ?? null);
        const key = JSON.stringify([window, tenant, dims]);
        const c = single(r.quantity, e.time, e.id);
        const cur = groups.get(key);
        if (cur) merge(cur.components, c);
        else groups.set(key, { window, tenant, dims, components: c });
      }
    }
    return [...groups.values()];
  }
}

/**
 * Rows ordered by window, then tenant, then dimension values. The distinct (tenant, dims)
 * groups are sorted once and each row is placed by (window, group rank): linear in the rows,
 * where a comparison sort of 30,000 daily cells costs more than reading them.
 */
function inAnswerOrder<R extends { window: number; tenant: string | null; dims: (string | null)[] }>(rows: R[], windowCount: number): R[] {
  if (rows.length < 2 || inOrder(rows)) return rows;
  const groupKey = (r: R) => (r.dims.length === 0 ? (r.tenant ?? '') : JSON.stringify([r.tenant, r.dims]));
  const groups = new Map<string, R>();
  for (const r of rows) {
    const k = groupKey(r);
    if (!groups.has(k)) groups.set(k, r);
  }
  const sorted = [...groups].sort(([, a], [, b]) => cmp(a.tenant, b.tenant) || cmpDims(a.dims, b.dims));
  const rank = new Map(sorted.map(([k], i) => [k, i]));
  const ranks = rows.map((r) => rank.get(groupKey(r))!);
  if (windowCount * sorted.length > 4 * rows.length) {
    // Sparse (many windows, few cells each): a comparison sort needs no slot array.
    const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.window - rows[b]!.window || ranks[a]! - ranks[b]!);
    return order.map((i) => rows[i]!);
  }
  const slots: (R | undefined)[] = new Array(windowCount * sorted.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const at = r.window * sorted.length + ranks[i]!;
    if (slots[at] !== undefined) throw new Error(`two rows for one cell (window ${r.window}): a store must group`);
    slots[at] = r;
  }
  return slots.filter((r): r is R => r !== undefined);
}

/** True when rows already come by window, then tenant, then dimensions, each cell once (as the embedded hot tier answers). */
function inOrder<R extends { window: number; tenant: string | null; dims: (string | null)[] }>(rows: R[]): boolean {
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    if (a.window !== b.window ? a.window > b.window : (cmp(a.tenant, b.tenant) || cmpDims(a.dims, b.dims)) >= 0) return false;
  }
  return true;
}

function dimIndex(meter: Meter, name: string, where: string): number {
  const i = meter.dimensions.indexOf(name);
  if (i < 0) {
    const known = ['tenant', ...meter.dimensions].map((d) => `"${d}"`).join(', ');
    throw new TallyError('VALIDATION_FAILED', `${where}: meter "${meter.slug}" has no dimension "${name}" (it has ${known})`, [{ path: where, message: `unknown dimension "${name}"` }]);
  }
  return i;
}

function cmp(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function cmpDims(a: (string | null)[], b: (string | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = cmp(a[i] ?? null, b[i] ?? null);
    if (c !== 0) return c;
  }
  return 0;
}
