import { DateTime } from 'luxon';
import { MICROS_PER_MS, type EpochMicros } from '../../shared/time.ts';

/** Access-log formats `tally reconcile --access-log` reads. */
export const ACCESS_LOG_FORMATS = ['combined', 'json'] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/** One request of an access log. */
export interface AccessLogEntry {
  time: EpochMicros;
  method: string;
  status: number;
}

/** Requests counted per method and status class, and the log's time window. */
export interface AccessLogSummary {
  name: string;
  format: AccessLogFormat;
  lines: number;
  /** Lines that could not be read (reported, never guessed). */
  unreadable: number;
  /** First and last request time (epoch µs). */
  from: EpochMicros;
  to: EpochMicros;
  counts: { method: string; statusClass: string; requests: number }[];
}

// $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
const COMBINED = /^\S+ \S+ \S+ \[([^\]]+)\] "(\S+) [^"]*" (\d{3}) /;

/** One line of nginx "combined" (or Apache's), or undefined when it is not one. */
export function parseCombined(line: string): AccessLogEntry | undefined {
  const m = COMBINED.exec(line);
  if (!m) return undefined;
  const t = DateTime.fromFormat(m[1]!, 'dd/MMM/yyyy:HH:mm:ss ZZZ', { locale: 'en' });
  if (!t.isValid) return undefined;
  return { time: t.toMillis() * MICROS_PER_MS, method: m[2]!, status: Number(m[3]) };
}

/**
 * One line of a JSON access log (nginx `escape=json` log_format and the like): time from
 * `time_iso8601`, `time`, `timestamp`, `@timestamp` or `time_local`; method from `method` /
 * `request_method` or the first word of `request`; `status`.
 */
export function parseJsonLine(line: string): AccessLogEntry | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  const rawTime = o.time_iso8601 ?? o.time ?? o.timestamp ?? o['@timestamp'];
  let t = typeof rawTime === 'string' ? DateTime.fromISO(rawTime) : typeof rawTime === 'number' ? DateTime.fromMillis(rawTime < 1e11 ? rawTime * 1000 : rawTime) : undefined;
  if ((!t || !t.isValid) && typeof o.time_local === 'string') t = DateTime.fromFormat(o.time_local, 'dd/MMM/yyyy:HH:mm:ss ZZZ', { locale: 'en' });
  const method = o.method ?? o.request_method ?? (typeof o.request === 'string' ? o.request.split(' ')[0] : undefined);
  const status = Number(o.status);
  if (!t || !t.isValid || typeof method !== 'string' || !Number.isInteger(status)) return undefined;
  return { time: t.toMillis() * MICROS_PER_MS, method, status };
}

/** Summarises an access log's lines (empty lines skipped). */
export function summariseAccessLog(name: string, format: AccessLogFormat, lines: Iterable<string>): AccessLogSummary {
  const parse = format === 'json' ? parseJsonLine : parseCombined;
  const counts = new Map<string, { method: string; statusClass: string; requests: number }>();
  let n = 0;
  let unreadable = 0;
  let from = Infinity;
  let to = -Infinity;
  for (const line of lines) {
    if (line.trim() === '') continue;
    n++;
    const e = parse(line);
    if (!e) {
      unreadable++;
      continue;
    }
    from = Math.min(from, e.time);
    to = Math.max(to, e.time);
    const statusClass = `${Math.floor(e.status / 100)}xx`;
    const k = `${e.method} ${statusClass}`;
    const c = counts.get(k) ?? { method: e.method, statusClass, requests: 0 };
    c.requests++;
    counts.set(k, c);
  }
  return { name, format, lines: n, unreadable, from: Number.isFinite(from) ? from : 0, to: Number.isFinite(to) ? to : 0, counts: [...counts.values()].sort((a, b) => (a.method + a.statusClass < b.method + b.statusClass ? -1 : 1)) };
}
