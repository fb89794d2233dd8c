import { DateTime, IANAZone } from 'luxon';
import { TallyError } from '../errors/registry.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';
import type { WindowLayout } from '../store/port.ts';

/** Window sizes of the query API. */
export const WINDOW_SIZES = ['MINUTE', 'HOUR', 'DAY', 'MONTH'] as const;
export type WindowSize = (typeof WINDOW_SIZES)[number];

/** The window size named by `text` in any letter case ("day", "Day", "DAY"), or undefined. */
export function parseWindowSize(text: string): WindowSize | undefined {
  const upper = text.toUpperCase();
  return (WINDOW_SIZES as readonly string[]).includes(upper) ? (upper as WindowSize) : undefined;
}

/** Most windows one query may return per group. */
export const MAX_WINDOWS = 100_000;

const UNIT = { MINUTE: 'minute', HOUR: 'hour', DAY: 'day', MONTH: 'month' } as const;

/** Windows of a query: `boundaries[i]..boundaries[i+1]` is window i, clipped to [from, to). */
export interface Windows {
  boundaries: EpochMicros[];
  layout: WindowLayout;
}

/** Throws INVALID_TIME_ZONE unless `tz` is an IANA zone luxon can use. */
export function checkTimeZone(tz: string): void {
  if (tz !== 'UTC' && !IANAZone.isValidZone(tz)) throw new TallyError('INVALID_TIME_ZONE', `"${tz}" is not an IANA time zone (e.g. "UTC", "Europe/Berlin", "Asia/Kolkata")`);
}

/**
 * Lays out windows of `size` in time zone `tz` over [from, to): day and month boundaries
 * follow the zone's midnight (so a DST day is 23 or 25 hours long); the first and last
 * windows are clipped to the range. Without a size there is one window.
 */
export function layoutWindows(from: EpochMicros, to: EpochMicros, size: WindowSize | undefined, tz: string): Windows {
  if (!(from < to)) throw new TallyError('INVALID_RANGE', '`from` must be before `to`');
  // Checked even without a size: the answer echoes the zone, so a bad one must not pass silently.
  checkTimeZone(tz);
  if (size === undefined) return { boundaries: [from, to], layout: { kind: 'explicit', boundaries: [from, to] } };
  if (tz === 'UTC' && size !== 'MONTH') return utcWindows(from, to, FIXED_WIDTH[size]);
  const unit = UNIT[size];
  let cur = DateTime.fromMillis(Math.floor(from / MICROS_PER_MS), { zone: tz }).startOf(unit);
  const origin = cur.toMillis() * MICROS_PER_MS;
  const boundaries = [from];
  const gaps = new Set<number>();
  let prev = origin;
  for (;;) {
    cur = cur.plus({ [unit + 's']: 1 });
    const b = cur.toMillis() * MICROS_PER_MS;
    gaps.add(b - prev);
    prev = b;
    if (b >= to) break;
    if (b > from) boundaries.push(b);
    if (boundaries.length > MAX_WINDOWS) {
      throw new TallyError('INVALID_RANGE', `the range holds more than ${MAX_WINDOWS} ${size} windows; narrow it or use a larger windowSize`);
    }
  }
  boundaries.push(to);
  const width = [...gaps][0]!;
  const layout: WindowLayout =
    gaps.size === 1 ? { kind: 'uniform', origin, width, count: boundaries.length - 1 } : { kind: 'explicit', boundaries };
  return { boundaries, layout };
}

const FIXED_WIDTH = { MINUTE: MICROS_PER_MINUTE, HOUR: MICROS_PER_HOUR, DAY: MICROS_PER_DAY } as const;

/** Fixed-width UTC windows by arithmetic (the default zone; luxon is not needed for them). */
function utcWindows(from: EpochMicros, to: EpochMicros, width: number): Windows {
  const origin = Math.floor(from / width) * width;
  const count = Math.ceil((to - origin) / width);
  if (count > MAX_WINDOWS) throw new TallyError('INVALID_RANGE', `the range holds more than ${MAX_WINDOWS} ${width === MICROS_PER_DAY ? 'DAY' : width === MICROS_PER_HOUR ? 'HOUR' : 'MINUTE'} windows; narrow it or use a larger windowSize`);
  const boundaries = new Array<EpochMicros>(count + 1);
  boundaries[0] = from;
  for (let k = 1; k < count; k++) boundaries[k] = origin + k * width;
  boundaries[count] = to;
  return { boundaries, layout: { kind: 'uniform', origin, width, count } };
}

/** Index of the window holding `t` (boundaries sorted, t within [first, last)). */
export function windowIndex(boundaries: readonly EpochMicros[], t: EpochMicros): number {
  let lo = 0;
  let hi = boundaries.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (boundaries[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
