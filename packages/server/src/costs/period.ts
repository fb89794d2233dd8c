import { TallyError } from '../errors/registry.ts';
import { formatMicros, MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';

/** A cost period: one calendar month in UTC. */
export interface CostPeriod {
  /** `2026-11`. */
  label: string;
  start: EpochMicros;
  end: EpochMicros;
}

/** `2026-11` → that UTC month; absent → the month holding `now`. Anything else is a 400. */
export function monthPeriod(text: string | undefined, now: EpochMicros): CostPeriod {
  let y: number;
  let m: number;
  if (text === undefined) {
    const d = new Date(now / MICROS_PER_MS);
    y = d.getUTCFullYear();
    m = d.getUTCMonth() + 1;
  } else {
    const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(text);
    if (!match) throw new TallyError('VALIDATION_FAILED', `period: "${text}" is not a month such as 2026-11`, [{ path: 'query.period', message: 'not YYYY-MM' }]);
    y = Number(match[1]);
    m = Number(match[2]);
  }
  const start = Date.UTC(y, m - 1, 1) * MICROS_PER_MS;
  const end = Date.UTC(y, m, 1) * MICROS_PER_MS;
  return { label: `${y}-${String(m).padStart(2, '0')}`, start, end };
}

/** The period's bounds as RFC 3339. */
export function periodBounds(p: CostPeriod): { from: string; to: string } {
  return { from: formatMicros(p.start), to: formatMicros(p.end) };
}
