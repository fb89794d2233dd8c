/** Ingest outcomes as `/metrics` reports them (counters since the server started). */
export interface IngestOutcomes {
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Rejections by code, largest first. */
  rejectedByCode: [code: string, count: number][];
}

const LINE = /^tally_ingest_events_total\{([^}]*)\}\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Reads `tally_ingest_events_total{outcome,code}` from Prometheus text exposition. */
export function parseIngestOutcomes(text: string): IngestOutcomes {
  const out: IngestOutcomes = { accepted: 0, duplicate: 0, rejected: 0, rejectedByCode: [] };
  const codes = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[1]!.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    const v = Number(m[2]);
    if (!Number.isFinite(v)) continue;
    const outcome = labels.outcome;
    if (outcome === 'accepted' || outcome === 'duplicate' || outcome === 'rejected') out[outcome] += v;
    if (outcome === 'rejected') codes.set(labels.code || 'UNKNOWN', (codes.get(labels.code || 'UNKNOWN') ?? 0) + v);
  }
  out.rejectedByCode = [...codes].sort((a, b) => b[1] - a[1]);
  return out;
}
