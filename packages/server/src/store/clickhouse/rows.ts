import type { EventRecord } from '../../events/event.ts';
import type { DerivedRows } from '../../usage/derive-rollups.ts';
import { DIM_COLUMNS } from './schema.ts';
import { jsonDecimal } from './sql.ts';

/**
 * JSONEachRow lines for the `ingest` table, built as text so decimals go out as exact bare
 * numbers (JSON.stringify cannot print a bigint, and a float would round).
 */
const s = JSON.stringify;

function dimsJson(dims: readonly (string | null)[]): string {
  return DIM_COLUMNS.map((d, i) => `"${d}":${s(dims[i] ?? null)}`).join(',');
}

/** A raw event row, tagged with its stream partition and sequence (-1/0 outside the stream). */
export function encodeEvent(e: EventRecord, nowUs: number, part: number, seq: number): string {
  return `{"kind":"e","tenant":${s(e.tenant)},"id":${s(e.id)},"type":${s(e.type)},"source":${s(e.source)},"time_us":${e.time},"actor":${s(e.actor)},"data":${s(e.dataJson)},"content_hash":${s(e.contentHash)},"ingested_us":${nowUs},"part":${part},"seq":${seq}}`;
}

/** Rollup deltas and unique facts. */
export function encodeDerived(d: DerivedRows): string[] {
  const out: string[] = [];
  for (const r of d.rollups) {
    const c = r.c;
    out.push(
      `{"kind":"r","meter":${s(r.meter)},"tenant":${s(r.tenant)},"res":${s(r.res)},"bucket_us":${r.bucket},"dim_key":${s(r.dimKey)},${dimsJson(r.dims)},"cnt":${c.count},` +
        `"q_sum":${jsonDecimal(c.sum)},"q_min":${jsonDecimal(c.min)},"q_max":${jsonDecimal(c.max)},"latest_value":${jsonDecimal(c.latest?.value ?? null)},` +
        `"latest_us":${c.latest ? c.latest.time : 'null'},"latest_id":${c.latest ? s(c.latest.id) : 'null'}}`,
    );
  }
  for (const u of d.uniques) out.push(`{"kind":"u","meter":${s(u.meter)},"tenant":${s(u.tenant)},"time_us":${u.time},"dim_key":${s(u.dimKey)},${dimsJson(u.dims)},"value":${s(u.value)}}`);
  return out;
}

/** The watermark row of a stream batch. */
export function encodeMark(part: number, seq: number, nowUs: number): string {
  return `{"kind":"m","part":${part},"seq":${seq},"at_us":${nowUs}}`;
}
