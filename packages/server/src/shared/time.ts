/** Microseconds since the Unix epoch: the one time unit inside Tally (exact, fits a double). */
export type EpochMicros = number;

export const MICROS_PER_MS = 1000;
export const MICROS_PER_MINUTE = 60_000_000;
export const MICROS_PER_HOUR = 3_600_000_000;
export const MICROS_PER_DAY = 86_400_000_000;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 timestamp to epoch microseconds, keeping sub-millisecond digits
 * (JavaScript's Date would drop them). Returns undefined when the text is not RFC 3339.
 */
export function parseRfc3339(text: string): EpochMicros | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', off = 'Z'] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  const check = new Date(ms);
  if (check.getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  if (off !== 'Z' && off !== 'z') {
    const sign = off.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6)));
  }
  const micros = Number((frac + '000000').slice(0, 6));
  return (ms - offsetMinutes * 60_000) * MICROS_PER_MS + micros;
}

/** Formats epoch microseconds as RFC 3339 UTC, with microseconds only when non-zero. */
export function formatMicros(us: EpochMicros): string {
  const ms = Math.floor(us / MICROS_PER_MS);
  const rest = us - ms * MICROS_PER_MS;
  const iso = new Date(ms).toISOString();
  return rest === 0 ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

/** An injectable clock (tests pin time; production reads the system clock). */
export interface Clock {
  nowMicros(): EpochMicros;
}

/** The system clock. */
export const systemClock: Clock = { nowMicros: () => Date.now() * MICROS_PER_MS };
