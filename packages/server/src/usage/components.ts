import type { Decimal } from 'decimal.js';
import type { EpochMicros } from '../shared/time.ts';
import { Dec } from '../shared/decimal.ts';
import type { Aggregation } from '../meters/meter.ts';

/** The latest value seen, with the (time, event id) that orders it. */
export interface Latest {
  value: Decimal;
  time: EpochMicros;
  id: string;
}

/**
 * Mergeable aggregate state: every aggregation except UNIQUE_COUNT is a function of these,
 * so minute buckets merge into hours, days and arbitrary windows exactly.
 */
export interface Components {
  count: bigint;
  sum: Decimal | null;
  min: Decimal | null;
  max: Decimal | null;
  latest: Latest | null;
}

/** Components of a single event. */
export function single(quantity: Decimal | undefined, time: EpochMicros, id: string): Components {
  if (quantity === undefined) return { count: 1n, sum: null, min: null, max: null, latest: null };
  return { count: 1n, sum: quantity, min: quantity, max: quantity, latest: { value: quantity, time, id } };
}

/** True when `a` is later than `b`: by time, then by event id (a total, deterministic order). */
export function isLater(a: Latest, b: Latest): boolean {
  return a.time > b.time || (a.time === b.time && a.id > b.id);
}

/** Merges `b` into `a` (mutates and returns `a`). */
export function merge(a: Components, b: Components): Components {
  a.count += b.count;
  if (b.sum !== null) a.sum = a.sum === null ? b.sum : a.sum.plus(b.sum);
  if (b.min !== null) a.min = a.min === null || b.min.lt(a.min) ? b.min : a.min;
  if (b.max !== null) a.max = a.max === null || b.max.gt(a.max) ? b.max : a.max;
  if (b.latest !== null && (a.latest === null || isLater(b.latest, a.latest))) a.latest = b.latest;
  return a;
}

/** Digits kept after the point for AVG, whose quotient may not terminate. */
export const AVG_DECIMALS = 12;

/** The meter's value from merged components (UNIQUE_COUNT is computed elsewhere). */
export function valueOf(aggregation: Aggregation, c: Components): Decimal | null {
  switch (aggregation) {
    case 'COUNT':
      return new Dec(c.count.toString());
    case 'SUM':
      return c.sum ?? new Dec(0);
    case 'MIN':
      return c.min;
    case 'MAX':
      return c.max;
    case 'AVG':
      return c.sum === null || c.count === 0n ? null : c.sum.div(c.count.toString()).toDecimalPlaces(AVG_DECIMALS, Dec.ROUND_HALF_EVEN);
    case 'LATEST':
      return c.latest?.value ?? null;
    case 'UNIQUE_COUNT':
      throw new Error('UNIQUE_COUNT is not derived from components');
  }
}
