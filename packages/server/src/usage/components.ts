import type { EpochMicros } from '../shared/time.ts';
import { Dec, formatScaled, scaledToDecimal } from '../shared/decimal.ts';
import type { Aggregation } from '../meters/meter.ts';

/** The latest value seen (scaled), with the (time, event id) that orders it. */
export interface Latest {
  value: bigint;
  time: EpochMicros;
  id: string;
}

/**
 * Mergeable aggregate state, quantities as exact scaled integers (value × 10^12). Every
 * aggregation except UNIQUE_COUNT is a function of these, so minute buckets merge into
 * hours, days and arbitrary windows exactly.
 */
export interface Components {
  count: bigint;
  sum: bigint | null;
  min: bigint | null;
  max: bigint | null;
  latest: Latest | null;
}

/**
 * Which components a rollup series keeps (count always): an aggregation's own, or `STATS` —
 * sum, min and max — for a series shared by SUM, AVG, MIN and MAX meters of one value.
 */
export type Kept = Aggregation | 'STATS';

/**
 * Components of a single event. With `keep`, only those components are kept (count always):
 * rollup rows then carry no state nobody queries (a COUNT series' sums, a stats series' latest).
 */
export function single(quantity: bigint | undefined, time: EpochMicros, id: string, keep?: Kept): Components {
  if (quantity === undefined) return { count: 1n, sum: null, min: null, max: null, latest: null };
  if (keep === undefined) return { count: 1n, sum: quantity, min: quantity, max: quantity, latest: { value: quantity, time, id } };
  const stats = keep === 'STATS';
  return {
    count: 1n,
    sum: stats || keep === 'SUM' || keep === 'AVG' ? quantity : null,
    min: stats || keep === 'MIN' ? quantity : null,
    max: stats || keep === 'MAX' ? quantity : null,
    latest: keep === 'LATEST' ? { value: quantity, time, id } : null,
  };
}

/** Whether a series keeping `keep` keeps the sum. */
function keepsSum(keep: Kept | undefined): boolean {
  return keep === undefined || keep === 'STATS' || keep === 'SUM' || keep === 'AVG';
}

/**
 * Components that take one voided event back out of a bucket (a correction): count −1 and the
 * sum −quantity. Only the additive components can be retracted; min, max and latest stay as
 * they were, so MIN, MAX and LATEST answers over ranges holding corrections are computed from
 * the raw events instead (QueryService).
 */
export function retraction(quantity: bigint | undefined, keep?: Kept): Components {
  return { count: -1n, sum: quantity !== undefined && keepsSum(keep) ? -quantity : null, min: null, max: null, latest: null };
}

/** Merges a {@link retraction} into `a` in place. */
export function mergeRetraction(a: Components, quantity: bigint | undefined, keep?: Kept): void {
  a.count -= 1n;
  if (quantity !== undefined && keepsSum(keep)) a.sum = (a.sum ?? 0n) - quantity;
}

/** True when `a` is later than `b`: by time, then by event id (a total, deterministic order). */
export function isLater(a: Latest, b: Latest): boolean {
  return a.time > b.time || (a.time === b.time && a.id > b.id);
}

/** Merges `b` into `a` (mutates and returns `a`). */
export function merge(a: Components, b: Components): Components {
  a.count += b.count;
  if (b.sum !== null) a.sum = a.sum === null ? b.sum : a.sum + b.sum;
  if (b.min !== null && (a.min === null || b.min < a.min)) a.min = b.min;
  if (b.max !== null && (a.max === null || b.max > a.max)) a.max = b.max;
  if (b.latest !== null && (a.latest === null || isLater(b.latest, a.latest))) a.latest = b.latest;
  return a;
}

/**
 * Merges one event's reading into `a` (built by `single` with the same `aggregation`) without
 * allocating: the hot path of rollup derivation.
 */
export function mergeOne(a: Components, quantity: bigint | undefined, time: EpochMicros, id: string, keep?: Kept): void {
  a.count += 1n;
  if (quantity === undefined) return;
  const all = keep === undefined;
  const stats = keep === 'STATS';
  if (all || stats || keep === 'SUM' || keep === 'AVG') a.sum = a.sum === null ? quantity : a.sum + quantity;
  if ((all || stats || keep === 'MIN') && (a.min === null || quantity < a.min)) a.min = quantity;
  if ((all || stats || keep === 'MAX') && (a.max === null || quantity > a.max)) a.max = quantity;
  if ((all || keep === 'LATEST') && (a.latest === null || time > a.latest.time || (time === a.latest.time && id > a.latest.id))) a.latest = { value: quantity, time, id };
}

/** Digits kept after the point for AVG, whose quotient may not terminate (half-even rounding). */
export const AVG_DECIMALS = 12;

/** The meter's value as exact decimal text (UNIQUE_COUNT and TIME_WEIGHTED_SUM are computed elsewhere). */
export function valueOf(aggregation: Aggregation, c: Components): string | null {
  switch (aggregation) {
    case 'COUNT':
      return c.count.toString();
    case 'SUM':
      return formatScaled(c.sum ?? 0n);
    case 'MIN':
      return c.min === null ? null : formatScaled(c.min);
    case 'MAX':
      return c.max === null ? null : formatScaled(c.max);
    case 'AVG':
      return c.sum === null || c.count === 0n ? null : scaledToDecimal(c.sum).div(c.count.toString()).toDecimalPlaces(AVG_DECIMALS, Dec.ROUND_HALF_EVEN).toFixed();
    case 'LATEST':
      return c.latest === null ? null : formatScaled(c.latest.value);
    case 'UNIQUE_COUNT':
    case 'TIME_WEIGHTED_SUM':
      throw new Error(`${aggregation} is not derived from components`);
  }
}
