import type { Meter, UsageResult, UsageRow } from './api.ts';
import { sumDecimals } from './decimal.ts';

/** One plotted line/bar series: plot values and the API's exact strings side by side. */
export interface Series {
  label: string;
  /** Number per x, for drawing; 0 or null where the API returned no row. */
  values: (number | null)[];
  /** The API's value per x, or null where it returned no row. */
  raw: (string | null)[];
}

/** Chart-ready data: x in epoch seconds (window starts). */
export interface ChartData {
  x: number[];
  series: Series[];
}

const STEP_MS = { MINUTE: 60_000, HOUR: 3_600_000 } as const;

/** Aggregations where "no row" means zero (for the others it means "no value"). */
export function zeroWhenEmpty(aggregation: string): boolean {
  return aggregation === 'COUNT' || aggregation === 'SUM' || aggregation === 'UNIQUE_COUNT' || aggregation === 'TIME_WEIGHTED_SUM';
}

/** The label of a row's group: tenant and dimension values, e.g. "acme · GET · /v1/users/:id"; `whole` when ungrouped. */
export function groupLabel(row: UsageRow, groupBy: readonly string[], whole = 'total'): string {
  const parts = groupBy.map((g) => (g === 'tenant' ? row.tenant : row.groupBy[g]) ?? '(none)');
  return parts.length > 0 ? parts.join(' · ') : whole;
}

/** The shortest whole window of each size (a DST day has 23 hours, February 28 days). */
const WHOLE_MS: Record<string, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 23 * 3_600_000, MONTH: 28 * 86_400_000 };

/**
 * Window starts of the windows that cover only part of their span: clipped by the range's
 * `from` or `to`, or still open at `now`. Their values are not comparable with whole windows.
 */
export function partialWindows(r: UsageResult, now: number): Set<string> {
  const out = new Set<string>();
  const whole = r.windowSize ? WHOLE_MS[r.windowSize] : undefined;
  if (whole === undefined) return out;
  for (const row of r.data) {
    const start = Date.parse(row.windowStart);
    const end = Date.parse(row.windowEnd);
    if (end - start < whole || end > now) out.add(row.windowStart);
  }
  return out;
}

/** The offset of `timeZone` from UTC at `t`, in ms (wall clock minus UTC). */
function zoneOffset(t: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date(t));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(t / 1000) * 1000;
}

/** Midnight of the next local day after the local midnight `t`, in `timeZone` (23, 24 or 25 hours later). */
function nextLocalDay(t: number, timeZone: string, dir: 1 | -1): number {
  const guess = t + dir * 86_400_000;
  return guess + (zoneOffset(t, timeZone) - zoneOffset(guess, timeZone));
}

/**
 * Window starts of an answer. The API omits empty windows, so MINUTE and HOUR grids are
 * filled in between `from` and `to` (anchored on a returned window, which respects the zone).
 */
export function windowStarts(r: UsageResult): number[] {
  const starts = new Set(r.data.map((d) => Date.parse(d.windowStart)));
  const from = Date.parse(r.from);
  const to = Date.parse(r.to);
  const step = r.windowSize === 'MINUTE' || r.windowSize === 'HOUR' ? STEP_MS[r.windowSize] : undefined;
  if (step !== undefined && to > from && (to - from) / step <= 50_000) {
    starts.add(from);
    const anchor = [...starts].find((s) => s !== from) ?? Math.ceil(from / step) * step;
    for (let t = anchor; t > from; t -= step) starts.add(t);
    for (let t = anchor; t < to; t += step) starts.add(t);
  }
  // Day windows follow the zone's midnights (23–25 hours apart); fill them from a returned one.
  const dayAnchor = [...starts].find((s) => s !== from);
  if (r.windowSize === 'DAY' && dayAnchor !== undefined && (to - from) / 86_400_000 <= 2_000) {
    starts.add(from);
    for (let t = nextLocalDay(dayAnchor, r.windowTimeZone, -1); t > from; t = nextLocalDay(t, r.windowTimeZone, -1)) starts.add(t);
    for (let t = dayAnchor; t < to; t = nextLocalDay(t, r.windowTimeZone, 1)) starts.add(t);
  }
  return [...starts].sort((a, b) => a - b);
}

/** Splits an answer into one series per group, largest total first, at most `maxSeries`. */
export function toChartData(r: UsageResult, groupBy: readonly string[], maxSeries = 8, whole = 'total'): ChartData & { hidden: number } {
  const xs = windowStarts(r);
  const index = new Map(xs.map((x, i) => [x, i]));
  const groups = new Map<string, { raw: (string | null)[]; total: number }>();
  for (const row of r.data) {
    const label = groupLabel(row, groupBy, whole);
    let g = groups.get(label);
    if (!g) groups.set(label, (g = { raw: xs.map(() => null), total: 0 }));
    g.raw[index.get(Date.parse(row.windowStart))!] = row.value;
    g.total += Math.abs(Number(row.value ?? 0));
  }
  const fill = zeroWhenEmpty(r.aggregation) ? 0 : null;
  const ranked = [...groups].sort((a, b) => b[1].total - a[1].total);
  const series = ranked.slice(0, maxSeries).map(([label, g]) => ({ label, raw: g.raw, values: g.raw.map((v) => (v === null ? fill : Number(v))) }));
  return { x: xs.map((x) => x / 1000), series, hidden: Math.max(0, ranked.length - maxSeries) };
}

/** One entry of a ranking (top tenants, top endpoints). */
export interface Ranked {
  key: string;
  row: UsageRow;
  value: string;
  share: number;
  /** Share of this entry and every larger one. */
  cumulative: number;
}

/** Ranks rows by value, with each one's share of the exact total and the running share. */
export function rank(rows: UsageRow[], key: (r: UsageRow) => string): { items: Ranked[]; total: string } {
  const total = sumDecimals(rows.map((r) => r.value));
  const t = Number(total);
  let acc = 0;
  const items = rows
    .filter((r) => r.value !== null)
    .sort((a, b) => Number(b.value) - Number(a.value))
    .map((row) => {
      const share = t > 0 ? Number(row.value) / t : 0;
      acc += share;
      return { key: key(row), row, value: row.value!, share, cumulative: acc };
    });
  return { items, total };
}

/** How many of the largest entries make up `target` (e.g. 0.8) of the total. */
export function headCount(items: readonly Ranked[], target = 0.8): number {
  const i = items.findIndex((x) => x.cumulative >= target - 1e-9);
  return i === -1 ? items.length : i + 1;
}

/** The meter the overview counts events with: a COUNT meter, preferably one by route. */
export function requestMeter(meters: readonly Meter[]): Meter | undefined {
  const counts = meters.filter((m) => m.aggregation === 'COUNT');
  return counts.find((m) => m.slug === 'api_requests') ?? counts.find((m) => 'route' in m.groupBy) ?? counts[0];
}
