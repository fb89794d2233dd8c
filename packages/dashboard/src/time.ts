import type { WindowSize } from './api.ts';

/** Query ranges, aligned so the API can answer from rollups. */

const MINUTE = 60_000;

/** `[from, to)` covering the last `minutes` whole minutes and the current one. */
export function lastMinutes(minutes: number, now = Date.now()): { from: string; to: string } {
  const to = Math.ceil((now + 1) / MINUTE) * MINUTE;
  return { from: new Date(to - minutes * MINUTE).toISOString(), to: new Date(to).toISOString() };
}

/** Ranges the explorer and tenant views offer. */
export const RANGES = [
  { id: '1h', label: 'Last hour', minutes: 60, window: 'MINUTE' },
  { id: '6h', label: 'Last 6 hours', minutes: 360, window: 'MINUTE' },
  { id: '24h', label: 'Last 24 hours', minutes: 1440, window: 'HOUR' },
  { id: '7d', label: 'Last 7 days', minutes: 7 * 1440, window: 'HOUR' },
  { id: '30d', label: 'Last 30 days', minutes: 30 * 1440, window: 'DAY' },
] as const;

export type RangeId = (typeof RANGES)[number]['id'];

/** Common IANA zones offered in the explorer (plus the browser's and UTC). */
export const TIME_ZONES = ['UTC', 'America/Los_Angeles', 'America/New_York', 'America/Sao_Paulo', 'Europe/London', 'Europe/Berlin', 'Africa/Johannesburg', 'Asia/Dubai', 'Asia/Kolkata', 'Asia/Singapore', 'Asia/Tokyo', 'Australia/Sydney'];

/**
 * A new range keeps the window size the reader chose when it still fits (minute windows only
 * up to a day); otherwise it takes the range's default.
 */
export function rangeChange(window: WindowSize, rangeId: string): { range: RangeId; window: WindowSize } {
  const r = RANGES.find((x) => x.id === rangeId) ?? RANGES[2];
  return { range: r.id, window: window === 'MINUTE' && r.minutes > 1440 ? r.window : window };
}
