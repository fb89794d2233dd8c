/** Display helpers: compact numbers for axes, times in a chosen zone, values with units. */
import { groupDigits, roundDecimal } from './decimal.ts';

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

/** Money units are ISO 4217 codes (three capital letters). */
function isCurrency(unit: string | undefined): unit is string {
  return unit !== undefined && /^[A-Z]{3}$/.test(unit);
}

/** How a meter's values are displayed: its unit and fractional digits. */
export interface ValueFormat {
  aggregation: string;
  unit?: string | undefined;
  precision?: number | undefined;
}

/**
 * An exact value for display with its unit: counts without fractions, money with its currency
 * (two digits unless the meter says otherwise), otherwise the meter's precision; thousands
 * grouped. The exact string is kept where the value is exposed as data.
 */
export function formatValue(v: string | null, f: ValueFormat, withUnit = true): string {
  if (v === null) return '–';
  const counted = f.aggregation === 'COUNT' || f.aggregation === 'UNIQUE_COUNT';
  const digits = f.precision ?? (counted ? 0 : isCurrency(f.unit) ? 2 : undefined);
  const shown = groupDigits(digits === undefined ? v : roundDecimal(v, digits));
  if (!withUnit || !f.unit) return shown;
  return isCurrency(f.unit) ? `${f.unit} ${shown}` : `${shown} ${f.unit}`;
}
