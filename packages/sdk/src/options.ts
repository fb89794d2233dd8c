import type { DropInfo, TallyError } from './types.ts';

/** Options of createClient(); every bound has a documented default. */
export interface ClientOptions {
  /** Base URL of the Tally server, e.g. `http://127.0.0.1:8787`; events go to `{endpoint}/v1/events`. */
  endpoint: string;
  /** An API key with the `ingest` scope. */
  apiKey: string;
  /** CloudEvents `source` of the events. Default `urn:tally:sdk:node`. */
  source?: string;
  /** Most events held in memory (queued, not in flight). Default 50,000. */
  maxQueueEvents?: number;
  /** Most serialised bytes held in memory (queued, not in flight). Default 16 MiB. */
  maxQueueBytes?: number;
  /** Larger events are dropped as `invalid`. Default 256 KiB. */
  maxEventBytes?: number;
  /** Send as soon as this many events are queued. Default 2,000 (or maxBatchEvents if lower): one HTTP request per 2,000 events at high rates, every flushIntervalMs below. */
  flushAt?: number;
  /** Send what is queued at least this often (background mode). Default 100 ms. */
  flushIntervalMs?: number;
  /** Events per request, at most 10,000 (the server's limit). Default 2,000. */
  maxBatchEvents?: number;
  /** Uncompressed bytes per request, at most 10 MiB (the server's limit). Default 1 MiB. */
  maxBatchBytes?: number;
  /** Requests in flight at once. Default 2. */
  maxConcurrentRequests?: number;
  /**
   * Gzip request bodies of at least `minBytes` (default 4 KiB) at `level` (default 1). Default on,
   * except to a loopback endpoint (localhost, 127.0.0.0/8, ::1), where bytes cost nothing; `true` forces it on.
   */
  gzip?: boolean | { minBytes?: number; level?: number };
  /** A request without an answer after this long is retried. Default 10 s. */
  requestTimeoutMs?: number;
  /** Exponential backoff with full jitter; `budgetMs` is how long an event may keep failing. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number; budgetMs?: number };
  /** Called (outside the caller's stack, coalesced) whenever events are dropped. */
  onDrop?: (info: DropInfo) => void;
  /** Called on every failed request and on rejected or conflicting events. */
  onError?: (error: TallyError) => void;
  /** Durable spool: un-acknowledged events survive a crash in this file and are re-sent on start. */
  spool?: { path: string; maxBytes?: number };
  /** `background` (default) sends on timers; `serverless` sends only inside flush()/shutdown(). */
  mode?: 'background' | 'serverless';
  /** Injectable clock (ms since epoch) for event times and the retry budget. */
  now?: () => number;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  url: URL;
  apiKey: string;
  source: string;
  maxQueueEvents: number;
  maxQueueBytes: number;
  maxEventBytes: number;
  flushAt: number;
  flushIntervalMs: number;
  maxBatchEvents: number;
  maxBatchBytes: number;
  maxConcurrentRequests: number;
  gzip: { minBytes: number; level: number } | undefined;
  requestTimeoutMs: number;
  retry: { initialDelayMs: number; maxDelayMs: number; budgetMs: number };
  onDrop: ((info: DropInfo) => void) | undefined;
  onError: ((error: TallyError) => void) | undefined;
  spool: { path: string; maxBytes: number } | undefined;
  mode: 'background' | 'serverless';
  now: () => number;
}

const MiB = 1024 * 1024;

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
const SERVER_MAX_EVENTS = 10_000;
const SERVER_MAX_BYTES = 10 * MiB;

/** Applies defaults and validates everything at once, throwing one error that lists every problem. */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  const problems: string[] = [];
  const int = (name: string, v: number | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
    return v;
  };
  let url = new URL('http://invalid.invalid/v1/events');
  try {
    const base = new URL(o.endpoint);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') problems.push('endpoint must be an http(s) URL');
    url = new URL(base.pathname.replace(/\/+$/, '') + '/v1/events', base);
  } catch {
    problems.push(`endpoint must be an absolute URL, got ${JSON.stringify(o.endpoint)}`);
  }
  if (typeof o.apiKey !== 'string' || o.apiKey === '') problems.push('apiKey is required');
  // Compression trades CPU for bytes on the wire; to a loopback endpoint (a local collector or
  // sidecar) bytes are free, so by default it is off there. `gzip: true` forces it on.
  const gz = o.gzip === true || (o.gzip === undefined && !isLoopback(url.hostname)) ? {} : o.gzip === undefined || o.gzip === false ? undefined : o.gzip;
  const r = o.retry ?? {};
  const resolved: ResolvedOptions = {
    url,
    apiKey: o.apiKey,
    source: o.source ?? 'urn:tally:sdk:node',
    maxQueueEvents: int('maxQueueEvents', o.maxQueueEvents, 50_000, 1),
    maxQueueBytes: int('maxQueueBytes', o.maxQueueBytes, 16 * MiB, 1024),
    maxEventBytes: int('maxEventBytes', o.maxEventBytes, 256 * 1024, 64),
    flushAt: int('flushAt', o.flushAt, Math.min(2_000, o.maxBatchEvents ?? 2_000), 1),
    flushIntervalMs: int('flushIntervalMs', o.flushIntervalMs, 100, 1),
    maxBatchEvents: int('maxBatchEvents', o.maxBatchEvents, 2_000, 1, SERVER_MAX_EVENTS),
    maxBatchBytes: int('maxBatchBytes', o.maxBatchBytes, MiB, 1024, SERVER_MAX_BYTES),
    maxConcurrentRequests: int('maxConcurrentRequests', o.maxConcurrentRequests, 2, 1, 64),
    gzip: gz && { minBytes: int('gzip.minBytes', gz.minBytes, 4096, 0), level: int('gzip.level', gz.level, 1, 1, 9) },
    requestTimeoutMs: int('requestTimeoutMs', o.requestTimeoutMs, 10_000, 1),
    retry: {
      initialDelayMs: int('retry.initialDelayMs', r.initialDelayMs, 100, 1),
      maxDelayMs: int('retry.maxDelayMs', r.maxDelayMs, 30_000, 1),
      budgetMs: int('retry.budgetMs', r.budgetMs, 15 * 60_000, 0),
    },
    onDrop: o.onDrop,
    onError: o.onError,
    spool: undefined,
    mode: o.mode ?? 'background',
    now: o.now ?? Date.now,
  };
  if (resolved.mode !== 'background' && resolved.mode !== 'serverless') problems.push(`mode must be 'background' or 'serverless'`);
  if (resolved.maxEventBytes > Math.min(resolved.maxQueueBytes, resolved.maxBatchBytes)) {
    problems.push('maxEventBytes must not exceed maxQueueBytes or maxBatchBytes');
  }
  if (o.spool) {
    // The spool holds what memory holds (queued + in flight); twice that leaves room to append
    // between compactions, which keeps compaction amortised O(1) per event.
    const floor = 2 * (resolved.maxQueueBytes + resolved.maxConcurrentRequests * resolved.maxBatchBytes);
    const maxBytes = int('spool.maxBytes', o.spool.maxBytes, Math.max(floor, 64 * MiB), floor);
    if (typeof o.spool.path !== 'string' || o.spool.path === '') problems.push('spool.path is required');
    resolved.spool = { path: o.spool.path, maxBytes };
  }
  if (problems.length > 0) throw new Error(`Invalid Tally client options:\n- ${problems.join('\n- ')}`);
  return resolved;
}
