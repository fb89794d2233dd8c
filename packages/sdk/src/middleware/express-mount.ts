interface LayerLike {
  route?: unknown;
  rawPath?: unknown;
  handle?: { stack?: LayerLike[] };
}

function matchSegments(pattern: string[], segs: string[], from: number): number {
  if (from + pattern.length > segs.length) return -1;
  for (let k = 0; k < pattern.length; k++) {
    const p = pattern[k] as string;
    if (p.startsWith('*')) return segs.length - from; // a wildcard mount swallows the rest
    if (!p.startsWith(':') && p.toLowerCase() !== (segs[from + k] as string).toLowerCase()) return -1;
  }
  return pattern.length;
}

function walk(stack: LayerLike[] | undefined, segs: string[], from: number): string | undefined {
  if (from === segs.length) return '';
  for (const layer of stack ?? []) {
    if (layer.route || typeof layer.rawPath !== 'string' || !layer.handle?.stack) continue;
    const pattern = layer.rawPath.split('/').filter(Boolean);
    const used = matchSegments(pattern, segs, from);
    if (used < 0) continue;
    const rest = walk(layer.handle.stack, segs, from + used);
    if (rest !== undefined) return (pattern.length > 0 ? '/' + pattern.join('/') : '') + rest;
  }
  return undefined;
}

const staticMounts = new Map<string, string>();

/**
 * Express keeps only the concrete mount path (`/v/2`) in `req.baseUrl`; this recovers the mount
 * template (`/v/:ver`) from the routers' layers so parameter values never become route labels.
 * Static mounts are cached (their number is bounded by the code); parameterised ones are re-walked.
 */
export function mountTemplate(rootStack: LayerLike[] | undefined, baseUrl: string): string | undefined {
  if (baseUrl === '') return '';
  const cached = staticMounts.get(baseUrl);
  if (cached !== undefined) return cached;
  const template = walk(rootStack, baseUrl.split('/').filter(Boolean), 0);
  if (template !== undefined && template === baseUrl && staticMounts.size < 1000) staticMounts.set(baseUrl, template);
  return template;
}
