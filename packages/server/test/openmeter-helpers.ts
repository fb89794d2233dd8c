import { HTTPError } from '@openmeter/sdk';
import { expect } from 'vitest';

/** Helpers of the `@openmeter/sdk` tests (embedded and distributed). */

const HOUR = 3_600_000;
/** Two days ago, midnight UTC: inside the backfill horizon whatever the time of the run. */
const D = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - 2 * 24 * HOUR;

/** `hours` after D. */
export const at = (hours: number): Date => new Date(D + hours * HOUR);

/**
 * Two Tokyo days from D − 9 h (Tokyo is UTC+9 all year, so 10:00Z of day D falls on Tokyo's day D
 * and 16:00Z on the next). A fresh object per call: the SDK turns a query's Dates into strings in place.
 */
export const tokyo = () => ({ from: at(-9), to: at(39), windowSize: 'DAY' as const, windowTimeZone: 'Asia/Tokyo' });

/** The same range without windows. */
export const range = () => ({ from: at(-9), to: at(39) });

/** The HTTPError a call of the SDK rejects with. */
export async function failure(p: Promise<unknown>): Promise<HTTPError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HTTPError);
  return err as HTTPError;
}
