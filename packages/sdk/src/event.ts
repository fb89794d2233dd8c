import type { TrackEvent } from './types.ts';
import { CE, Quoted, quotedIsoOf } from './encode.ts';

/** `"<time>"` for a given time; throws on an invalid one (track() reports it as invalid). */
export function quotedTimeOf(t: TrackEvent['time'], nowMs: number): string {
  if (t === undefined) return quotedIsoOf(nowMs);
  if (typeof t === 'string') {
    if (Number.isNaN(Date.parse(t))) throw new TypeError('time is not a date');
    return JSON.stringify(t);
  }
  const d = typeof t === 'number' ? new Date(t) : t;
  return '"' + d.toISOString() + '"'; // throws RangeError on an invalid date
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
 * Builds CloudEvents 1.0 JSON from pre-serialised fixed parts and remembered quoted values; the
 * only per-event JSON work left is the `data` object. One encoder per client (its caches are
 * one entry per field).
 */
export class CloudEventEncoder {
  private readonly source: string;
  private readonly sources = new Quoted();
  private readonly types = new Quoted();
  private readonly tenants = new Quoted();
  private readonly actors = new Quoted();

  constructor(source: string) {
    this.source = JSON.stringify(source);
  }

  /** The event as JSON with `data` already serialised (`dataJson`); `actor` is omitted when undefined. */
  encode(id: string, generatedId: boolean, type: string, tenant: string, actor: string | undefined, source: string | undefined, quotedTime: string, dataJson: string): string {
    return (
      CE.open +
      (generatedId ? '"' + id + '"' : JSON.stringify(id)) +
      CE.source +
      (source === undefined ? this.source : this.sources.of(source)) +
      CE.type +
      this.types.of(type) +
      CE.subject +
      this.tenants.of(tenant) +
      CE.time +
      quotedTime +
      CE.data +
      dataJson +
      (actor === undefined ? CE.close : CE.actor + this.actors.of(actor) + CE.close)
    );
  }

  /** A validated TrackEvent as JSON. Throws when `properties` cannot be serialised or `time` is invalid. */
  event(ev: TrackEvent, id: string, generatedId: boolean, nowMs: number): string {
    const data = ev.properties === undefined ? '{}' : JSON.stringify(ev.properties);
    if (typeof data !== 'string') throw new TypeError('properties cannot be serialised');
    return this.encode(id, generatedId, ev.type, ev.tenant, ev.actor, ev.source, quotedTimeOf(ev.time, nowMs), data);
  }
}

/**
 * Serialises a validated event as a CloudEvents 1.0 JSON object (`subject` = tenant, `data` =
 * properties). Throws when `properties` cannot be serialised (cycles, BigInt) or `time` is invalid.
 */
export function toCloudEventJson(ev: TrackEvent, id: string, source: string, nowMs: number): string {
  return new CloudEventEncoder(source).event(ev, id, false, nowMs);
}
