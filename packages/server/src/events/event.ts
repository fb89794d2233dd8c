import type { MeterReading } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import type { EpochMicros } from '../shared/time.ts';

/** Meter readings computed at ingest, valid while the event type's meter list is `meters`. */
export interface CachedReadings {
  readonly meters: readonly Meter[];
  readonly readings: readonly (MeterReading | null)[];
}

/**
 * An event after ingest validation: the tenant is the CloudEvents `subject`, the end user
 * (`actor`) is already an HMAC, and `data` is kept as parsed JSON plus its JSON text.
 */
export interface EventRecord {
  readonly tenant: string;
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: EpochMicros;
  /** HMAC-SHA256 (hex) of the end-user id, or null when the event names none. */
  readonly actor: string | null;
  readonly data: Record<string, unknown>;
  readonly dataJson: string;
  /** SHA-256 of the event's content: tells a true re-send from a conflicting one. */
  readonly contentHash: string;
  /** Readings taken during validation, so rollups do not evaluate the meters twice. */
  readonly cached?: CachedReadings;
  /**
   * The stored columns tenant … content_hash in ClickHouse RowBinary, as read from the stream
   * (see stream/payload.ts): the worker inserts them without re-encoding.
   */
  readonly wire?: Uint8Array;
}

/** What the store did with one event. */
export type AppendOutcome = { status: 'accepted' } | { status: 'duplicate'; conflict: boolean };

/** The dedupe key of an event: ids are unique per tenant. */
export function eventKey(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
