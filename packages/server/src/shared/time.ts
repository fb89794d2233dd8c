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
  const fast = parseUtcFast(text);
  return fast === null ? parseRfc3339Full(text) : fast;
}

/** The last calendar date the fast path validated ("YYYY-MM-DD") and its UTC midnight (ms). */
let memoDate = '';
let memoMidnight = 0;

/** Two ASCII digits at `i` as a number, or -1. */
function digits2(t: string, i: number): number {
  const a = t.charCodeAt(i) - 48;
  const b = t.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The form nearly every event carries, `YYYY-MM-DDTHH:MM:SS[.f…]Z`, read by character codes
 * with the date's validity remembered (events of a batch share their day): the same answer as
 * the full parser (property-tested), or null to send any other form to it.
 */
function parseUtcFast(t: string): EpochMicros | undefined | null {
  const n = t.length;
  if (n < 20 || n > 30 || t.charCodeAt(n - 1) !== 90 || t.charCodeAt(10) !== 84 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return null;
  const hour = digits2(t, 11);
  const minute = digits2(t, 14);
  const second = digits2(t, 17);
  if (hour < 0 || minute < 0 || second < 0) return null;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let micros = 0;
  if (n > 20) {
    if (t.charCodeAt(19) !== 46 || n === 21) return null;
    let scale = 100_000;
    for (let i = 20; i < n - 1; i++) {
      const c = t.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return null;
      micros += c * scale;
      scale = scale >= 10 ? scale / 10 : 0;
    }
  }
  if (!t.startsWith(memoDate) || memoDate === '') {
    const date = t.slice(0, 10);
    const full = parseRfc3339Full(`${date}T00:00:00Z`);
    if (full === undefined) return null;
    memoDate = date;
    memoMidnight = full / MICROS_PER_MS;
  }
  return (memoMidnight + hour * 3_600_000 + minute * 60_000 + Math.min(second, 59) * 1000) * MICROS_PER_MS + micros;
}

/** Any RFC 3339 timestamp (offsets, lower-case separators), by regular expression. */
function parseRfc3339Full(text: string): EpochMicros | undefined {
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
