/**
 * The JSONPath subset meters use to reach into an event's `data`: `$.a.b`, `$.items[0]`,
 * `$['key with spaces']`. Paths are compiled once when a meter is defined; filters and
 * wildcards are not supported because a meter must read exactly one value per event.
 */
export type CompiledPath = readonly (string | number)[];

const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/;

/** Compiles a path, or returns a message saying why it is not one. */
export function compilePath(path: string): CompiledPath | string {
  if (!path.startsWith('$')) return 'must start with "$" (e.g. "$.tokens")';
  const out: (string | number)[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (!m) return `cannot parse "${rest}" (use $.name, $.list[0] or $['odd key'])`;
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push((m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'));
    rest = rest.slice(m[0].length);
  }
  if (out.length === 0) return 'must name a property (e.g. "$.tokens"), not the whole object';
  return out;
}

/** Reads the value at a compiled path, or undefined when any step is missing. */
export function readPath(data: unknown, path: CompiledPath): unknown {
  let cur: unknown = data;
  for (const step of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[step];
    } else {
      if (Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, step)) return undefined;
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return cur;
}
