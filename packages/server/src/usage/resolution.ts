import { MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, type EpochMicros } from '../shared/time.ts';

/** Rollup resolutions, coarsest first. */
export const RESOLUTIONS = ['day', 'hour', 'minute'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** Width of each resolution's buckets (UTC-aligned). */
export const RESOLUTION_MICROS: Record<Resolution, number> = { day: MICROS_PER_DAY, hour: MICROS_PER_HOUR, minute: MICROS_PER_MINUTE };

/** Start of the bucket holding `t` at a resolution. */
export function bucketStart(t: EpochMicros, res: Resolution): EpochMicros {
  const w = RESOLUTION_MICROS[res];
  return Math.floor(t / w) * w;
}

/**
 * The coarsest resolution whose buckets tile every window exactly (every boundary is a
 * bucket boundary), or 'raw' when a boundary falls inside a minute.
 */
export function coarsestFor(boundaries: readonly EpochMicros[]): Resolution | 'raw' {
  for (const res of RESOLUTIONS) {
    const w = RESOLUTION_MICROS[res];
    if (boundaries.every((b) => b % w === 0)) return res;
  }
  return 'raw';
}
