import type { EventRecord } from '../../events/event.ts';
import type { RowBinaryWriter } from '../../events/row-binary.ts';
import { writeEventColumns } from '../../stream/payload.ts';
import type { DerivedRows } from '../../usage/derive-rollups.ts';
import { INGEST_COLUMNS } from './schema.ts';

/**
 * RowBinary rows for the `ingest` table (every column, in `INGEST_COLUMNS` order; a column a
 * row kind does not use gets its default: '' / 0 / NULL). Binary, so decimals go out exactly
 * as Decimal128 and an event read from the stream is copied, not re-encoded.
 */
const EXPECTED = [
  'kind', 'tenant', 'id', 'type', 'source', 'time_us', 'actor', 'data', 'content_hash', 'ingested_us', 'part', 'seq',
  'meter', 'res', 'bucket_us', 'dim_key', 'dims', 'cnt', 'q_sum', 'q_min', 'q_max', 'latest_value', 'latest_us', 'latest_id', 'value', 'at_us',
];
if (EXPECTED.join() !== INGEST_COLUMNS.join()) throw new Error(`rows.ts encodes ${EXPECTED.join()} but the ingest table has ${INGEST_COLUMNS.join()}`);

/** The INSERT statement the rows below are the body of. */
export const INGEST_INSERT = `INSERT INTO ingest (${INGEST_COLUMNS.join(', ')}) FORMAT RowBinary`;

const ZERO64 = [0, 0, 0, 0, 0, 0, 0, 0];
/** meter … at_us of an event row: '', '', 0, '', [], 0, NULL × 6, '', 0. */
const EVENT_TAIL = Buffer.from([0, 0, ...ZERO64, 0, 0, ...ZERO64, 1, 1, 1, 1, 1, 1, 0, ...ZERO64]);
/** id … content_hash of a non-event row: '', '', '', 0, NULL, '', ''. */
const NO_EVENT_MID = Buffer.from([0, 0, 0, ...ZERO64, 1, 0, 0]);
/** ingested_us, part, seq of a non-event row: 0, 0, 0. */
const NO_EVENT_POS = Buffer.from([...ZERO64, 0, 0, 0, 0, ...ZERO64]);

/** A raw event row, tagged with its stream partition and sequence (-1/0 outside the stream). */
export function writeEvent(w: RowBinaryWriter, e: EventRecord, nowUs: number, part: number, seq: number): void {
  w.string('e');
  if (e.wire) w.bytes(e.wire);
  else writeEventColumns(w, e);
  w.int64(nowUs);
  w.int32(part);
  w.int64(seq);
  w.bytes(EVENT_TAIL);
}

/** `Array(Nullable(String))`: the length, then each value. */
function dims(w: RowBinaryWriter, values: readonly (string | null)[]): void {
  w.u8(values.length); // ≤ MAX_DIMENSIONS (8): a one-byte varint
  for (const v of values) w.nullableString(v);
}

/** Rollup deltas and unique facts. */
export function writeDerived(w: RowBinaryWriter, d: DerivedRows): void {
  for (const r of d.rollups) {
    const c = r.c;
    w.string('r');
    w.string(r.tenant);
    w.bytes(NO_EVENT_MID);
    w.bytes(NO_EVENT_POS);
    w.string(r.meter);
    w.string(r.res);
    w.int64(r.bucket);
    w.string(r.dimKey);
    dims(w, r.dims);
    w.bigInt64(c.count);
    w.nullableDecimal128(c.sum);
    w.nullableDecimal128(c.min);
    w.nullableDecimal128(c.max);
    w.nullableDecimal128(c.latest?.value ?? null);
    w.nullableInt64(c.latest ? c.latest.time : null);
    w.nullableString(c.latest ? c.latest.id : null);
    w.string('');
    w.int64(0);
  }
  for (const u of d.uniques) {
    w.string('u');
    w.string(u.tenant);
    w.string('');
    w.string('');
    w.string('');
    w.int64(u.time);
    w.bytes(NO_EVENT_MID.subarray(NO_EVENT_MID.length - 3));
    w.bytes(NO_EVENT_POS);
    w.string(u.meter);
    w.string('');
    w.int64(0);
    w.string(u.dimKey);
    dims(w, u.dims);
    w.int64(0);
    for (let i = 0; i < 6; i++) w.nullFlag();
    w.string(u.value);
    w.int64(0);
  }
}

/** The watermark row of a stream batch. */
export function writeMark(w: RowBinaryWriter, part: number, seq: number, nowUs: number): void {
  w.string('m');
  w.string('');
  w.bytes(NO_EVENT_MID);
  w.int64(0);
  w.int32(part);
  w.int64(seq);
  w.bytes(EVENT_TAIL.subarray(0, EVENT_TAIL.length - 8));
  w.int64(nowUs);
}
