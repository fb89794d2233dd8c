/** Display helpers: compact numbers for axes, times in a chosen zone. */

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** 1234 → "1.2K"; small fractions keep significant digits. */
export function formatCompact(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 1000) return compact.format(v);
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(3).replace(/\.?0+$/, '');
}

/** "42.1%". */
export function formatPercent(share: number): string {
  if (!Number.isFinite(share)) return '–';
  return `${(share * 100).toFixed(share >= 0.1 ? 1 : share >= 0.001 ? 2 : 3)}%`;
}

const dtf = new Map<string, Intl.DateTimeFormat>();

/** A window start as the reader expects for the window size, in `timeZone`. */
export function formatWindow(iso: string, windowSize: string | null, timeZone: string): string {
  const key = `${windowSize}|${timeZone}`;
  let f = dtf.get(key);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions =
      windowSize === 'MONTH'
        ? { year: 'numeric', month: 'short' }
        : windowSize === 'DAY'
          ? { year: 'numeric', month: 'short', day: '2-digit', weekday: 'short' }
          : { month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone });
    dtf.set(key, f);
  }
  return f.format(new Date(iso));
}

/** "12 s ago". */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min ago` : `${Math.round(m / 60)} h ago`;
}

/** The browser's IANA zone. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
