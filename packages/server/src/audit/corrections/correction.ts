import type { EventRecord } from '../../events/event.ts';
import type { EpochMicros } from '../../shared/time.ts';

/**
 * Corrections are events too: an immutable record of type `tally.correction`, stored in the raw
 * table through the same ingest path as every event (embedded: the store's append; distributed:
 * JetStream → worker), so the rollups, live counters and the archive take them in exactly as
 * they take any event. A correction carries a copy of the event it voids and has the voided
 * event's tenant and time: it lands in the same partition, the same rollup buckets and the same
 * counter periods, where the pipeline subtracts the copy (see `RollupAccumulator`). The original
 * event is never touched.
 */
export const CORRECTION_TYPE = 'tally.correction';
/** The source of every correction record. */
export const CORRECTION_SOURCE = 'tally/audit';

/** Void (the event no longer counts) or amend (void plus a replacement event). */
export type CorrectionAction = 'void' | 'amend';

/** The voided event as stored, copied into its correction. */
export interface CorrectedCopy {
  id: string;
  type: string;
  source: string;
  actor: string | null;
  data: Record<string, unknown>;
  contentHash: string;
}

/** The `data` of a correction record. */
export interface CorrectionData {
  action: CorrectionAction;
  target: CorrectedCopy;
  reason: string;
  /** The API key that made the correction. */
  keyId: string;
  /** When it was made (RFC 3339); the record's `time` is the voided event's time. */
  madeAt: string;
  /** The replacement event's id (amend only). */
  replacement: string | null;
}

const targets = new WeakMap<EventRecord, EventRecord | null>();

/**
 * The event a correction record voids, rebuilt from its copy (tenant and time are the record's
 * own); undefined for any other event. Memoised per record.
 */
export function correctedEvent(e: EventRecord): EventRecord | undefined {
  if (e.type !== CORRECTION_TYPE) return undefined;
  let t = targets.get(e);
  if (t === undefined) {
    t = copyOf(e.tenant, e.time, e.data);
    targets.set(e, t);
  }
  return t ?? undefined;
}

function copyOf(tenant: string, time: EpochMicros, data: Record<string, unknown>): EventRecord | null {
  const c = (data as Partial<CorrectionData>).target;
  if (!c || typeof c.id !== 'string' || typeof c.type !== 'string' || c.data === null || typeof c.data !== 'object') return null;
  return { tenant, id: c.id, type: c.type, source: c.source ?? '', time, actor: c.actor ?? null, data: c.data, dataJson: JSON.stringify(c.data), contentHash: c.contentHash ?? '' };
}

/** The correction's fields, or undefined for any other event. */
export function correctionOf(e: EventRecord): CorrectionData | undefined {
  return e.type === CORRECTION_TYPE ? (e.data as unknown as CorrectionData) : undefined;
}
