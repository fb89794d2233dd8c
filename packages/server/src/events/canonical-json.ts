/** JSON text with object keys sorted at every level, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Loops and string concatenation rather than map/join: this runs for every ingested event.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return out + ']';
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i === 0 ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson((value as Record<string, unknown>)[k]);
  }
  return out + '}';
}

/**
 * The canonical text an event's content hash is taken of: `canonicalJson([type, source, time,
 * actor, data])`, built around the data's canonical JSON already computed (ingest stores it).
 */
export function canonicalEventText(type: string, source: string, time: number, actor: string | null, dataJson: string): string {
  return `[${JSON.stringify(type)},${JSON.stringify(source)},${JSON.stringify(time)},${actor === null ? 'null' : JSON.stringify(actor)},${dataJson}]`;
}
