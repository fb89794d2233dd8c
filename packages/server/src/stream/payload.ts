import { z } from 'zod';
import type { CachedReadings, EventRecord } from '../events/event.ts';
import { RowBinaryReader, type RowBinaryWriter } from '../events/row-binary.ts';
import type { MeterReading } from '../meters/evaluate.ts';
import { canonicalMeter, type Meter } from '../meters/meter.ts';

/** First byte of a batch payload without meter readings (a JSON payload of one event, from before batches, starts with `{`). */
export const BATCH_V1 = 0x02;
/** First byte of a batch payload whose events carry the meter readings taken at ingest. */
export const BATCH_V2 = 0x03;

/** The meters of an event type, as a registry answers (the same array while the set is unchanged). */
export type MetersFor = (type: string) => readonly Meter[];

const signatures = new WeakMap<readonly Meter[], number>();

/**
 * A fingerprint of a list of meters (FNV-1a of their canonical definitions): readings taken by
 * an API node are used by a worker only when both hold the same meters for the event's type.
 */
export function meterSignature(meters: readonly Meter[]): number {
  let sig = signatures.get(meters);
  if (sig === undefined) {
    const text = meters.map((m) => canonicalMeter(m.def)).join('\u0000');
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    sig = h >>> 0;
    signatures.set(meters, sig);
  }
  return sig;
}

/**
 * A stream message carries a batch of accepted events of one partition (after ingest
 * validation; readings are recomputed downstream): a version byte, the event count (UInt32),
 * then each event's stored columns in ClickHouse RowBinary — tenant, id, type, source, time_us, actor (nullable),
 * data (JSON text), content_hash — back to back, so a worker inserts those bytes as they are.
 */
export function writeEventColumns(w: RowBinaryWriter, e: EventRecord): void {
  w.string(e.tenant);
  w.string(e.id);
  w.string(e.type);
  w.string(e.source);
  w.int64(e.time);
  w.nullableString(e.actor);
  w.string(e.dataJson);
  w.string(e.contentHash);
}

/**
 * The meter readings taken at ingest, after an event's columns: the signature of the meters they
 * were taken with (0: none), their count, then per meter a null flag, the dimensions
 * (count, nullable strings), the quantity (nullable Decimal128) and the unique value.
 */
export function writeReadings(w: RowBinaryWriter, e: EventRecord): void {
  const cached = e.cached;
  if (!cached || cached.meters.length === 0) {
    w.int32(0);
    return;
  }
  w.int32(meterSignature(cached.meters) | 0);
  w.u8(cached.readings.length);
  for (const r of cached.readings) {
    if (r === null) {
      w.nullFlag();
      continue;
    }
    w.u8(0);
    w.u8(r.dims.length);
    for (const d of r.dims) w.nullableString(d);
    w.nullableDecimal128(r.quantity ?? null);
    w.nullableString(r.unique ?? null);
  }
}

/** Starts a batch message in `w`; returns the position to pass to `endBatch`. */
export function beginBatch(w: RowBinaryWriter): number {
  const at = w.length;
  w.u8(BATCH_V2);
  w.int32(0);
  return at;
}

/** Finishes a batch message begun at `at` with `count` events. */
export function endBatch(w: RowBinaryWriter, at: number, count: number): void {
  w.patchUInt32(at + 1, count);
}

/** The number of events in a message, read without decoding it. */
export function eventCount(bytes: Uint8Array): number {
  return (bytes[0] === BATCH_V1 || bytes[0] === BATCH_V2) && bytes.length >= 5 ? bytes[1]! + bytes[2]! * 0x100 + bytes[3]! * 0x10000 + bytes[4]! * 0x1000000 : 1;
}

/** The JSON payload of one event of earlier versions (compact keys; `d` is the data as JSON text), still read. */
const jsonPayloadSchema = z.object({
  t: z.string(),
  i: z.string(),
  y: z.string(),
  s: z.string(),
  m: z.number().int(),
  a: z.string().nullable(),
  d: z.string(),
  h: z.string(),
});

/**
 * An event decoded from a batch payload. `data` (and its JSON text) are decoded when first
 * read: with the readings carried from ingest, the worker never needs them.
 */
class StreamedEvent implements EventRecord {
  private text: string | undefined;
  private parsed: Record<string, unknown> | undefined;
  constructor(
    readonly tenant: string,
    readonly id: string,
    readonly type: string,
    readonly source: string,
    readonly time: number,
    readonly actor: string | null,
    private readonly buf: Buffer,
    private readonly dataStart: number,
    private readonly dataEnd: number,
    readonly contentHash: string,
    readonly wire: Uint8Array,
    readonly cached: CachedReadings | undefined,
  ) {}

  get dataJson(): string {
    return (this.text ??= this.buf.toString('utf8', this.dataStart, this.dataEnd));
  }

  get data(): Record<string, unknown> {
    return (this.parsed ??= parseData(this.dataJson));
  }
}

function readReadings(r: RowBinaryReader): (MeterReading | null)[] {
  const n = r.u8();
  const out: (MeterReading | null)[] = new Array(n);
  for (let m = 0; m < n; m++) {
    if (r.u8() === 1) {
      out[m] = null;
      continue;
    }
    const dims: (string | null)[] = new Array(r.u8());
    for (let i = 0; i < dims.length; i++) dims[i] = r.nullableString();
    const quantity = r.nullableDecimal128();
    const unique = r.nullableString();
    out[m] = quantity !== null ? { dims, quantity } : unique !== null ? { dims, unique } : { dims };
  }
  return out;
}

/**
 * Decodes a message read from the log into its events, in order (throws on a malformed
 * message). Events of a batch payload keep their column bytes as `wire`, for the worker's
 * insert, and, when `metersFor` holds the meters they were read with at ingest, those readings.
 */
export function decodePayload(bytes: Uint8Array, metersFor?: MetersFor): EventRecord[] {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = buf[0];
  if (version !== BATCH_V1 && version !== BATCH_V2) {
    const p = jsonPayloadSchema.parse(JSON.parse(buf.toString('utf8')));
    return [{ tenant: p.t, id: p.i, type: p.y, source: p.s, time: p.m, actor: p.a, data: parseData(p.d), dataJson: p.d, contentHash: p.h }];
  }
  const r = new RowBinaryReader(buf);
  r.pos = 1;
  const count = r.uint32();
  const out: EventRecord[] = [];
  while (r.pos < buf.length) {
    const start = r.pos;
    const tenant = r.string();
    const id = r.string();
    const type = r.string();
    const source = r.string();
    const time = r.int64();
    const actor = r.nullableString();
    const [dataStart, dataEnd] = r.skipString();
    const contentHash = r.string();
    const wire = buf.subarray(start, r.pos);
    let cached: CachedReadings | undefined;
    if (version === BATCH_V2) {
      const signature = r.uint32();
      if (signature !== 0) {
        const readings = readReadings(r);
        const meters = metersFor?.(type);
        if (meters && meters.length === readings.length && meterSignature(meters) === signature) cached = { meters, readings };
      }
    }
    const e = new StreamedEvent(tenant, id, type, source, time, actor, buf, dataStart, dataEnd, contentHash, wire, cached);
    if (!cached) void e.data; // validates the data now, as without readings the worker evaluates it anyway
    out.push(e);
  }
  if (out.length !== count) throw new Error(`malformed payload: ${out.length} events, header says ${count}`);
  return out;
}

function parseData(json: string): Record<string, unknown> {
  const data: unknown = JSON.parse(json);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error('malformed payload: data is not a JSON object');
  return data as Record<string, unknown>;
}
