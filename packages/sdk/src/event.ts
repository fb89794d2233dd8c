import type { TrackEvent } from './types.ts';

let cachedMs = -1;
let cachedIso = '';

/** RFC 3339 time of `ms`; consecutive events in the same millisecond reuse one string. */
function isoOf(ms: number): string {
  if (ms !== cachedMs) {
    cachedMs = ms;
    cachedIso = new Date(ms).toISOString();
  }
  return cachedIso;
}

function timeOf(t: TrackEvent['time'], nowMs: number): string {
  if (t === undefined) return isoOf(nowMs);
  if (typeof t === 'string') {
    if (Number.isNaN(Date.parse(t))) throw new TypeError('time is not a date');
    return t;
  }
  const d = typeof t === 'number' ? new Date(t) : t;
  return d.toISOString(); // throws RangeError on an invalid date, which track() reports as invalid
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Why `ev` cannot become a CloudEvent, or undefined when it can. */
export function invalidReason(ev: TrackEvent): string | undefined {
  if (typeof ev !== 'object' || ev === null) return 'event must be an object';
  if (!nonEmpty(ev.type)) return 'type must be a non-empty string';
  if (!nonEmpty(ev.tenant)) return 'tenant must be a non-empty string';
  if (ev.id !== undefined && !nonEmpty(ev.id)) return 'id must be a non-empty string';
  if (ev.actor !== undefined && !nonEmpty(ev.actor)) return 'actor must be a non-empty string';
  if (ev.source !== undefined && !nonEmpty(ev.source)) return 'source must be a non-empty string';
  const p = ev.properties;
  if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) return 'properties must be an object';
  return undefined;
}

/**
 * Serialises a validated event as a CloudEvents 1.0 JSON object. One JSON.stringify of a
 * fixed-shape envelope yields a single flat string (concatenation would build a rope that stays
 * alive, and costs GC work, for as long as the event is queued). `actor: undefined` is omitted.
 * Throws when `properties` cannot be serialised (cycles, BigInt) or `time` is invalid.
 */
export function toCloudEventJson(ev: TrackEvent, id: string, source: string, nowMs: number): string {
  return JSON.stringify({
    specversion: '1.0',
    id,
    source: ev.source ?? source,
    type: ev.type,
    subject: ev.tenant,
    time: timeOf(ev.time, nowMs),
    datacontenttype: 'application/json',
    data: ev.properties ?? {},
    actor: ev.actor,
  });
}
