import { hash } from 'node:crypto';
import type { ActorHasher } from '../events/actor-hash.ts';
import { DataTooDeepError, canonicalEventText, canonicalJson } from '../events/canonical-json.ts';
import { cloudEventSchema, parseValidCloudEvent } from '../events/cloudevent-schema.ts';
import type { EventRecord } from '../events/event.ts';
import { IDENTIFIER_LIMITS, identifierProblem, isIdentifier } from '../events/identifiers.ts';
import type { ErrorCode } from '../errors/registry.ts';
import { evaluateMeter, isMeterProblem, type MeterProblem, type MeterReading } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE, formatMicros, parseRfc3339, type Clock } from '../shared/time.ts';
import type { DataMinimiser } from '../privacy/minimise.ts';
import type { UsageStore } from '../store/port.ts';

/**
 * The answer for one event of a request, in request order. An accepted event sent without a
 * `time` carries `time`: the receive time it was stored with.
 */
export type Receipt =
  | { id: string | null; status: 'accepted'; time?: string; dropped?: string[] }
  | { id: string | null; status: 'duplicate'; conflict: boolean; dropped?: string[] }
  | { id: string | null; status: 'rejected'; code: ErrorCode; message: string };

/** Ingest limits and horizons (from config). */
export interface IngestPolicy {
  /** Events older than this many days are rejected (the backfill horizon). */
  backfillDays: number;
  /** Events further in the future than this are rejected. */
  maxFutureMicros: number;
  /** Data minimisation (privacy.allowedProperties): unlisted properties are dropped before storage. */
  minimiser?: DataMinimiser;
}

/** Default policy: 5 minutes of clock skew, 35 days of backfill. */
export const DEFAULT_INGEST_POLICY: IngestPolicy = { backfillDays: 35, maxFutureMicros: 5 * MICROS_PER_MINUTE };

/**
 * Event types (`tally.…`) and sources (`tally/…`) only Tally itself may write; clients may send
 * one: the SDK's `tally.client.stats` heartbeat (what it sent and had acknowledged).
 */
export const CLIENT_STATS_TYPE = 'tally.client.stats';
export const RESERVED_TYPE_PREFIX = 'tally.';
export const RESERVED_SOURCE_PREFIX = 'tally/';

/** Who sends the events: API keys (the default) or Tally's own services (quota records). */
export interface IngestOptions {
  /** True for Tally's own events, which may use the reserved namespaces. */
  internal?: boolean;
}

/** Counts for one request. */
export interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejected: number;
  receipts: Receipt[];
}

/**
 * Validates, normalises (tenant from `subject`, actor HMAC, exact times), meters and stores
 * events. Each event gets its own receipt; valid events of a mixed batch are stored.
 */
export class IngestService {
  private readonly acceptedListeners: ((events: readonly EventRecord[]) => void)[] = [];
  private readonly receiptListeners: ReceiptListener[] = [];

  constructor(
    private readonly store: UsageStore,
    private readonly meters: MeterRegistry,
    private readonly hasher: ActorHasher,
    private readonly clock: Clock,
    private readonly policy: IngestPolicy = DEFAULT_INGEST_POLICY,
  ) {}

  /**
   * Registers a listener told about newly stored events (never duplicates), after the commit
   * and before the answer: the speed layer (live quota counters) hangs here.
   */
  onAccepted(listener: (events: readonly EventRecord[]) => void): void {
    this.acceptedListeners.push(listener);
  }

  /**
   * Registers a listener told, for every request from a client (not Tally's own events), each
   * event's receipt and tenant (`undefined` where a rejected event names no valid tenant): per
   * tenant ingest statistics (the alerts' rejection-rate rule) hang here. Only requests made
   * after a listener exists pay for finding the tenants.
   */
  onReceipts(listener: ReceiptListener): void {
    this.receiptListeners.push(listener);
  }

  /**
   * A deterministic id for an event Tally records itself, unguessable without the server's
   * secret: a client cannot take it first in the dedupe ledger and so suppress the record.
   */
  internalId(prefix: string, parts: readonly string[]): string {
    return `${prefix}_${this.hasher.hash(`tally-internal\u0000${prefix}\u0000${parts.join('\u0000')}`).slice(0, 32)}`;
  }

  async ingest(raw: readonly unknown[], opts: IngestOptions = {}): Promise<IngestSummary> {
    const receipts: Receipt[] = new Array(raw.length);
    const valid: EventRecord[] = [];
    const positions: number[] = [];
    const now = this.clock.nowMicros();
    const internal = opts.internal === true;
    // Events without a time are stamped with this request's receive time (one per request).
    const defaulted = new Set<number>();
    const minimiser = this.policy.minimiser !== undefined && !this.policy.minimiser.empty ? this.policy.minimiser : undefined;
    const dropped = minimiser ? new Map<number, string[]>() : undefined;
    raw.forEach((sent, i) => {
      let item = sent;
      if (minimiser) {
        const m = minimiser.apply(sent);
        item = m.item;
        if (m.dropped) dropped!.set(i, m.dropped);
      }
      const r = this.normalise(item, now, internal);
      if ('code' in r) receipts[i] = r;
      else {
        if ((item as { time?: unknown }).time === undefined) defaulted.add(i);
        valid.push(r);
        positions.push(i);
      }
    });
    if (valid.length > 0) {
      const outcomes = await this.store.append(valid);
      const stored: EventRecord[] = [];
      outcomes.forEach((o, k) => {
        const e = valid[k]!;
        if (o.status === 'accepted') stored.push(e);
        const at = positions[k]!;
        const r: Receipt = o.status === 'accepted' ? (defaulted.has(at) ? { id: e.id, status: 'accepted', time: formatMicros(e.time) } : { id: e.id, status: 'accepted' }) : { id: e.id, status: 'duplicate', conflict: o.conflict };
        const gone = dropped?.get(at);
        if (gone) r.dropped = gone;
        receipts[at] = r;
      });
      if (stored.length > 0) for (const l of this.acceptedListeners) l(stored);
    }
    if (this.receiptListeners.length > 0 && !internal) {
      const tenants: (string | undefined)[] = new Array(raw.length);
      for (let k = 0; k < valid.length; k++) tenants[positions[k]!] = valid[k]!.tenant;
      for (let i = 0; i < raw.length; i++) if (receipts[i]!.status === 'rejected') tenants[i] = subjectOf(raw[i]);
      for (const l of this.receiptListeners) l(receipts, tenants);
    }
    const summary: IngestSummary = { accepted: 0, duplicates: 0, rejected: 0, receipts };
    for (const r of receipts) {
      if (r.status === 'accepted') summary.accepted++;
      else if (r.status === 'duplicate') summary.duplicates++;
      else summary.rejected++;
    }
    return summary;
  }

  private normalise(item: unknown, now: number, internal: boolean): EventRecord | Extract<Receipt, { status: 'rejected' }> {
    // The schema only for events the fast check cannot pass (it builds the error messages).
    let ce = parseValidCloudEvent(item);
    if (!ce) {
      const parsed = cloudEventSchema.safeParse(item);
      if (!parsed.success) {
        return rejection(item, 'VALIDATION_FAILED', parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; '));
      }
      ce = parsed.data;
    }
    // Stores compare UTF-8: ids or tenants differing only in a lone surrogate would merge.
    if (!isIdentifier(ce.id, IDENTIFIER_LIMITS.id) || !isIdentifier(ce.subject, IDENTIFIER_LIMITS.tenant) || !isIdentifier(ce.type, IDENTIFIER_LIMITS.type) || !isIdentifier(ce.source, IDENTIFIER_LIMITS.source) || (ce.actor !== undefined && !isIdentifier(ce.actor, IDENTIFIER_LIMITS.actor))) {
      return rejection(item, 'INVALID_IDENTIFIER', identifierProblems(ce));
    }
    if (!internal && ((ce.type.startsWith(RESERVED_TYPE_PREFIX) && ce.type !== CLIENT_STATS_TYPE) || ce.source.startsWith(RESERVED_SOURCE_PREFIX))) {
      return rejection(item, 'RESERVED_NAMESPACE', `event types "${RESERVED_TYPE_PREFIX}…" and sources "${RESERVED_SOURCE_PREFIX}…" are written by Tally itself`);
    }
    const time = ce.time === undefined ? now : parseRfc3339(ce.time);
    if (time === undefined) return rejection(item, 'INVALID_TIME', `time: "${ce.time}" is not RFC 3339 (e.g. 2026-11-27T10:00:00Z)`);
    if (time > now + this.policy.maxFutureMicros) return rejection(item, 'INVALID_TIME', `time: ${ce.time} is more than ${this.policy.maxFutureMicros / MICROS_PER_MINUTE} minutes in the future`);
    if (time < now - this.policy.backfillDays * MICROS_PER_DAY) return rejection(item, 'INVALID_TIME', `time: ${ce.time} is older than the backfill horizon of ${this.policy.backfillDays} days`);
    const actor = ce.actor === undefined ? null : this.hasher.hash(ce.actor);
    const meters = this.meters.forType(ce.type);
    const readings: (MeterReading | null)[] = [];
    const record = { tenant: ce.subject, id: ce.id, type: ce.type, source: ce.source, time, actor, data: ce.data, dataJson: '', contentHash: '', cached: { meters, readings } };
    for (let k = 0; k < meters.length; k++) {
      const meter = meters[k]!;
      // A meter reading what an earlier one read (AVG/MIN/MAX of one value) reuses its reading,
      // and one grouping by the same paths reuses its dimension values.
      let j = 0;
      while (j < k && meters[j]!.readingKey !== meter.readingKey) j++;
      let r: MeterReading | MeterProblem | null;
      if (j < k) r = readings[j] ?? null;
      else {
        let d = 0;
        while (d < k && (meters[d]!.dimsKey !== meter.dimsKey || readings[d] === null)) d++;
        r = evaluateMeter(meter, record, d < k ? readings[d]!.dims : undefined);
      }
      if (isMeterProblem(r)) return rejection(item, r.code, r.message);
      readings.push(r);
    }
    // The data is stored as its canonical JSON (keys sorted), which is also the last element of
    // the hashed canonical array: one serialisation per event serves both.
    try {
      record.dataJson = canonicalJson(ce.data);
    } catch (err) {
      if (err instanceof DataTooDeepError) return rejection(item, 'VALIDATION_FAILED', `data: ${err.message}`);
      throw err;
    }
    record.contentHash = hash('sha256', canonicalEventText(ce.type, ce.source, ce.time === undefined ? null : time, actor, record.dataJson), 'base64url');
    return record;
  }
}

/** Every identifier problem of an event, for its rejection message (built only for problems). */
function identifierProblems(ce: { id: string; subject: string; type: string; source: string; actor?: string | undefined }): string {
  const fields: [string, string | undefined, number][] = [
    ['id', ce.id, IDENTIFIER_LIMITS.id],
    ['subject', ce.subject, IDENTIFIER_LIMITS.tenant],
    ['type', ce.type, IDENTIFIER_LIMITS.type],
    ['source', ce.source, IDENTIFIER_LIMITS.source],
    ['actor', ce.actor, IDENTIFIER_LIMITS.actor],
  ];
  return fields.flatMap(([name, v, max]) => {
    const p = v === undefined ? undefined : identifierProblem(v, max);
    return p ? [`${name}: ${p}`] : [];
  }).join('; ');
}

/** Told each event's receipt and tenant of a client request (see `IngestService.onReceipts`). */
export type ReceiptListener = (receipts: readonly Receipt[], tenants: readonly (string | undefined)[]) => void;

/** The tenant a rejected event names, when its `subject` is a valid tenant identifier. */
function subjectOf(item: unknown): string | undefined {
  const subject = item !== null && typeof item === 'object' ? (item as { subject?: unknown }).subject : undefined;
  return typeof subject === 'string' && isIdentifier(subject, IDENTIFIER_LIMITS.tenant) ? subject : undefined;
}

/** The receipt of a rejected event (its id when it has a string one). A function, not a closure per event: this is the hot path. */
function rejection(item: unknown, code: ErrorCode, message: string): Extract<Receipt, { status: 'rejected' }> {
  const id = item !== null && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : null;
  return { id, status: 'rejected', code, message };
}
