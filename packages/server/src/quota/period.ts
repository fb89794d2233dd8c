import { DateTime } from 'luxon';
import { MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';

/** Lengths an entitlement period can have. */
export const PERIOD_UNITS = ['hour', 'day', 'month'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

/** How an entitlement's periods are laid out. */
export interface PeriodSpec {
  /** `week` is for billing periods (weeks start on Monday unless anchored). */
  readonly unit: PeriodUnit | 'week';
  /** IANA zone whose wall clock the periods follow. */
  readonly timeZone: string;
  /** ISO date-time the periods count from (no offset: wall time in `timeZone`); default: calendar-aligned. */
  readonly anchor?: string | undefined;
}

/** One period, `[start, end)`. */
export interface Period {
  readonly start: EpochMicros;
  readonly end: EpochMicros;
}

const PLURAL = { hour: 'hours', day: 'days', week: 'weeks', month: 'months' } as const;
// A calendar-aligned origin: every hour, midnight and 1st of the month is a boundary from it;
// weeks count from a Monday (2000-01-03).
const DEFAULT_ANCHOR = { year: 2000, month: 1, day: 1 };
const DEFAULT_WEEK_ANCHOR = { year: 2000, month: 1, day: 3 };

/** Parses an anchor in its zone, or undefined when luxon cannot read it. */
export function parseAnchor(anchor: string | undefined, timeZone: string, unit?: PeriodSpec['unit']): DateTime | undefined {
  const dt = anchor === undefined ? DateTime.fromObject(unit === 'week' ? DEFAULT_WEEK_ANCHOR : DEFAULT_ANCHOR, { zone: timeZone }) : DateTime.fromISO(anchor, { zone: timeZone });
  return dt.isValid ? dt : undefined;
}

/**
 * The period holding `at`: `anchor + k·unit ≤ at < anchor + (k+1)·unit` with calendar arithmetic
 * in the zone (a day is 23 or 25 hours across DST; a month anchored on the 31st ends on the
 * last day of shorter months). Each boundary is computed from the anchor, never from the
 * previous boundary, so clamped months do not drift (Jan 31 → Feb 28 → Mar 31).
 */
export function periodAt(spec: PeriodSpec, at: EpochMicros): Period {
  const anchor = parseAnchor(spec.anchor, spec.timeZone, spec.unit);
  if (anchor === undefined) throw new Error(`invalid period anchor "${spec.anchor ?? ''}"`);
  const unit = PLURAL[spec.unit];
  const atMs = Math.floor(at / MICROS_PER_MS);
  const boundary = (k: number) => anchor.plus({ [unit]: k }).toMillis();
  let k = Math.floor(DateTime.fromMillis(atMs, { zone: spec.timeZone }).diff(anchor, unit).as(unit));
  while (boundary(k) > atMs) k--;
  while (boundary(k + 1) <= atMs) k++;
  return { start: boundary(k) * MICROS_PER_MS, end: boundary(k + 1) * MICROS_PER_MS };
}

const cache = new WeakMap<PeriodSpec, Period>();

/**
 * {@link periodAt} with the last answer per spec remembered: the ingest feed asks for the
 * period of every event and nearly all fall in the current one, so luxon runs once a period.
 */
export function cachedPeriodAt(spec: PeriodSpec, at: EpochMicros): Period {
  const last = cache.get(spec);
  if (last !== undefined && last.start <= at && at < last.end) return last;
  const p = periodAt(spec, at);
  cache.set(spec, p);
  return p;
}
