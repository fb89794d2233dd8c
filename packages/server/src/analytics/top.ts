import { TallyError } from '../errors/registry.ts';
import { formatScaled, parseQuantity } from '../shared/decimal.ts';
import type { EpochMicros } from '../shared/time.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { QueryService } from '../usage/query-service.ts';

/** A top-N question over a COUNT or SUM meter. */
export interface TopQuery {
  meter: string;
  /** `tenant` or one of the meter's dimensions. */
  by: string;
  limit: number;
  from: EpochMicros;
  to: EpochMicros;
  tenants?: string[] | undefined;
}

/** One ranked item: its exact value, and its share and the cumulative share (the 80/20 line) of the total. */
export interface TopItem {
  rank: number;
  key: string | null;
  value: string;
  share: number;
  cumulativeShare: number;
}

/** A top-N answer. */
export interface TopAnswer {
  meter: string;
  by: string;
  from: string;
  to: string;
  /** The exact total over every group (ranked or not). */
  total: string;
  /** Groups in the range; `items` holds the first `limit`. */
  groups: number;
  items: TopItem[];
  /** The exact sum of the groups after the first `limit`. */
  rest: string;
  approximate: false;
}

const SHARE_SCALE = 1_000_000_000n;

/** A ratio of scaled integers as a number, to 9 decimal places (truncated): the value stays exact beside it. */
export function ratio(n: bigint, d: bigint): number {
  return d === 0n ? 0 : Number((n * SHARE_SCALE) / d) / Number(SHARE_SCALE);
}

/**
 * Top-N exact from the rollups (through the query service, so settled rollups and the live
 * tail both count): every group's exact value, sorted descending (ties by key), with shares.
 * Only additive meters (COUNT, SUM) have shares of a total.
 */
export async function topN(queries: QueryService, meters: MeterRegistry, q: TopQuery): Promise<TopAnswer> {
  const meter = meters.get(q.meter);
  if (!meter) throw new TallyError('NOT_FOUND', `no meter "${q.meter}"`);
  if (meter.def.aggregation !== 'COUNT' && meter.def.aggregation !== 'SUM') {
    throw new TallyError('VALIDATION_FAILED', `top-N ranks shares of a total: meter "${q.meter}" is ${meter.def.aggregation}, only COUNT and SUM meters add up`);
  }
  if (q.by !== 'tenant' && !meter.dimensions.includes(q.by)) throw new TallyError('VALIDATION_FAILED', `meter "${q.meter}" has no dimension "${q.by}" (it has ${meter.dimensions.join(', ') || 'none'})`);
  const r = await queries.query({ meter: q.meter, from: q.from, to: q.to, groupBy: [q.by], tenants: q.tenants });
  const rows = r.data.map((d) => ({ key: q.by === 'tenant' ? d.tenant : (d.groupBy[q.by] ?? null), value: parseQuantity(d.value ?? '0') as bigint }));
  rows.sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : compareKeys(a.key, b.key)));
  const total = rows.reduce((s, x) => s + x.value, 0n);
  let running = 0n;
  const items = rows.slice(0, q.limit).map((x, i) => {
    running += x.value;
    return { rank: i + 1, key: x.key, value: formatScaled(x.value), share: ratio(x.value, total), cumulativeShare: ratio(running, total) };
  });
  return { meter: q.meter, by: q.by, from: r.from, to: r.to, total: formatScaled(total), groups: rows.length, items, rest: formatScaled(total - running), approximate: false };
}

/** Keys in code-point order, missing last. */
export function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}
