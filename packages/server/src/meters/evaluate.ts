import type { EventRecord } from '../events/event.ts';
import { valueProblem } from '../events/identifiers.ts';
import type { ErrorCode } from '../errors/registry.ts';
import { parseQuantity } from '../shared/decimal.ts';
import { readPath } from './json-path.ts';
import type { Meter } from './meter.ts';

/** What one meter reads from one event. */
export interface MeterReading {
  readonly dims: (string | null)[];
  /** The quantity (scaled ×10^12) for SUM/MIN/MAX/AVG/LATEST; undefined for COUNT and UNIQUE_COUNT. */
  readonly quantity?: bigint;
  /** The distinct-value key for UNIQUE_COUNT. */
  readonly unique?: string;
}

/** Why an event cannot be metered. */
export interface MeterProblem {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Marks a dimension value no store can hold as sent (see `valueProblem`). */
const UNSTORABLE = Symbol('unstorable');

/**
 * A dimension value as stored: strings as sent, other scalars as JSON text, missing as null.
 * A string holding NUL or a lone UTF-16 surrogate cannot be stored as sent (UTF-8 would turn
 * the surrogate into U+FFFD and merge it with another value): the event is refused.
 */
function dimValue(v: unknown): string | null | typeof UNSTORABLE {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return JSON.stringify(v);
  return valueProblem(v) === undefined ? v : UNSTORABLE;
}

/**
 * Reads a meter's dimensions and value from an event. Returns `null` when the event
 * legitimately does not count (UNIQUE_COUNT of end users on an anonymous event, or an event the
 * meter's filter excludes). `dims`, when
 * given, are the dimension values an earlier meter with the same `dimsKey` read from this
 * event: they are shared, not read again (readings are never mutated).
 */
export function evaluateMeter(meter: Meter, event: EventRecord, dims?: (string | null)[]): MeterReading | MeterProblem | null {
  if (meter.filter !== undefined && !meter.filter(event.data)) return null;
  if (dims === undefined) {
    const paths = meter.dimensionPaths;
    dims = new Array<string | null>(paths.length);
    for (let i = 0; i < paths.length; i++) {
      const d = dimValue(readPath(event.data, paths[i]!));
      if (d === UNSTORABLE) return { code: 'INVALID_IDENTIFIER', message: `meter "${meter.slug}" groups by ${meter.dimensions[i]} = ${meter.def.groupBy[meter.dimensions[i]!]}: the value ${valueProblem(readPath(event.data, paths[i]!) as string)!}` };
      dims[i] = d;
    }
  }
  if (meter.value === undefined) return { dims };
  if (meter.value === 'actor') return event.actor === null ? null : { dims, unique: event.actor };
  const raw = readPath(event.data, meter.value);
  if (raw === undefined || raw === null) return { code: 'INVALID_METER_VALUE', message: `${reads(meter)}, which the event's data lacks` };
  if (meter.def.aggregation === 'UNIQUE_COUNT') {
    if (typeof raw === 'object') return { code: 'INVALID_METER_VALUE', message: `${reads(meter)}, which must be a string or number, not an object` };
    if (typeof raw === 'string' && valueProblem(raw) !== undefined) return { code: 'INVALID_IDENTIFIER', message: `${reads(meter)}: the value ${valueProblem(raw)!}` };
    return { dims, unique: typeof raw === 'string' ? raw : JSON.stringify(raw) };
  }
  const q = parseQuantity(raw);
  if (q === 'not_a_number') return { code: 'INVALID_METER_VALUE', message: `${reads(meter)}, which must be a decimal number (got ${JSON.stringify(raw).slice(0, 60)})` };
  if (q === 'out_of_range') return { code: 'VALUE_OUT_OF_RANGE', message: `${reads(meter)}: ${String(raw)} has more than 12 fractional digits or is too large` };
  return { dims, quantity: q };
}

/** The start of a problem's message (built only for problems: evaluation is the ingest hot path). */
function reads(meter: Meter): string {
  return `meter "${meter.slug}" reads ${meter.def.valueProperty}`;
}

/** Narrows an evaluation result to a problem. */
export function isMeterProblem(r: MeterReading | MeterProblem | null): r is MeterProblem {
  return r !== null && 'code' in r;
}
