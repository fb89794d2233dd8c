/** The deepest nesting of arrays and objects an event's `data` may have. */
export const MAX_DATA_DEPTH = 64;

/** Thrown by `canonicalJson` for data nested deeper than {@link MAX_DATA_DEPTH}. */
export class DataTooDeepError extends Error {
  constructor() {
    super(`data is nested deeper than ${MAX_DATA_DEPTH} levels`);
  }
}

/**
 * JSON text with object keys sorted at every level, so equal content hashes equally. Nesting is
 * bounded (a 10,000-deep array would otherwise exhaust the stack on the ingest path).
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (depth >= MAX_DATA_DEPTH) throw new DataTooDeepError();
  // Loops and string concatenation rather than map/join: this runs for every ingested event.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i], depth + 1);
    return out + ']';
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i === 0 ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson((value as Record<string, unknown>)[k], depth + 1);
  }
  return out + '}';
}

/**
 * The canonical text an event's content hash is taken of: `canonicalJson([type, source, time,
 * actor, data])`, built around the data's canonical JSON already computed (ingest stores it).
 * `time` is null for an event sent without one: its re-sends (stamped with another receive
 * time) then hash alike and are true duplicates, not conflicts.
 */
export function canonicalEventText(type: string, source: string, time: number | null, actor: string | null, dataJson: string): string {
  return `[${JSON.stringify(type)},${JSON.stringify(source)},${JSON.stringify(time)},${actor === null ? 'null' : JSON.stringify(actor)},${dataJson}]`;
}
