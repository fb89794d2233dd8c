import { DateTime } from 'luxon';
import { MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';
import type { Period } from './model.ts';

/**
 * Period numbers, the same in every adapter: DAY = days since 1970-01-01 in the zone, WEEK =
 * ISO weeks (Monday first) counted as ⌊(day + 3) / 7⌋ (1970-01-01 was a Thursday), MONTH =
 * year × 12 + month − 1. Numbers rather than timestamps so engines compare integers.
 */
export function periodNumber(t: EpochMicros, period: Period, zone: string): number {
  const local = DateTime.fromMillis(Math.floor(t / MICROS_PER_MS), { zone });
  if (period === 'MONTH') return local.year * 12 + local.month - 1;
  const day = Math.round(DateTime.utc(local.year, local.month, local.day).toMillis() / 86_400_000);
  return period === 'DAY' ? day : Math.floor((day + 3) / 7);
}

/** The local calendar date (YYYY-MM-DD) a period number starts on: the day, the Monday, the 1st. */
export function periodLabel(n: number, period: Period): string {
  if (period === 'MONTH') return DateTime.utc(Math.floor(n / 12), (n % 12) + 1, 1).toISODate()!;
  const day = period === 'DAY' ? n : n * 7 - 3;
  return DateTime.fromMillis(day * 86_400_000, { zone: 'utc' }).toISODate()!;
}

/** The instant a period number starts in the zone (epoch microseconds). */
export function periodStart(n: number, period: Period, zone: string): EpochMicros {
  return DateTime.fromISO(periodLabel(n, period), { zone }).toMillis() * MICROS_PER_MS;
}
