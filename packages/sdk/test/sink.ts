import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A CloudEvent as the sink stored it. */
export interface StoredEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype?: string;
  data: Record<string, unknown>;
  actor?: string;
}

/** A forced failure: the next `times` event requests get `status` (with Retry-After if given). */
export interface Failure {
  status: number;
  retryAfter?: string;
  times?: number;
}

/**
 * A faithful stand-in for `POST /v1/events` (auth, limits, validation, dedupe-forever, receipts in
 * request order, all-rejected → 400 envelope), stoppable and restartable on the same port.
 * Also counts events posted in PostHog (`/batch/`) and Segment (`/v1/batch`) formats for the bench.
 */
export class Sink {
  /** First-accepted events by id (the dedupe ledger). */
  readonly events = new Map<string, StoredEvent>();
  /** Event submissions including duplicates. */
  submissions = 0;
  requests = 0;
  gzipped = 0;
  /** Events received by the peer-format endpoints. */
  readonly peers = { posthog: 0, segment: 0 };
  /** Return a message to reject an event as VALIDATION_FAILED. */
  reject: ((e: StoredEvent) => string | undefined) | undefined;
  private failure: Failure | undefined;
  private server: http.Server | undefined;
  private port = 0;

  constructor(private readonly apiKey = 'test-key') {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on the previous port (or a free one the first time). */
  async start(): Promise<this> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops accepting; requests already being handled are answered first (nothing half-done). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  /** Forces failures on event requests (undefined: back to normal). */
  fail(f: Failure | undefined): void {
    this.failure = f && { times: Infinity, ...f };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') {
      this.gzipped++;
      body = gunzipSync(body);
    }
    if (req.method === 'GET' && req.url === '/_stats') {
      return this.json(res, 200, { accepted: this.events.size, submissions: this.submissions, requests: this.requests, peers: this.peers });
    }
    if (req.url?.startsWith('/batch')) return this.peer(res, body, 'posthog', { status: 1 });
    if (req.url === '/v1/batch') return this.peer(res, body, 'segment', { success: true });
    if (req.method !== 'POST' || req.url !== '/v1/events') return this.error(res, 404, 'NOT_FOUND', 'no such route');
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return this.error(res, 401, 'UNAUTHENTICATED', 'bad key');
    const f = this.failure;
    if (f && (f.times ?? 0) > 0) {
      f.times = (f.times ?? 1) - 1;
      if (f.retryAfter !== undefined) res.setHeader('retry-after', f.retryAfter);
      return this.error(res, f.status, f.status === 429 ? 'RATE_LIMITED' : 'STORE_UNAVAILABLE', 'forced failure');
    }
    if (body.length > 10 * 1024 * 1024) return this.error(res, 413, 'PAYLOAD_TOO_LARGE', 'over 10 MiB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return this.error(res, 400, 'VALIDATION_FAILED', 'body is not JSON');
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length > 10_000) return this.error(res, 413, 'PAYLOAD_TOO_LARGE', 'over 10,000 events');
    const receipts = list.map((e) => this.ingest(e as StoredEvent));
    const count = (s: string) => receipts.filter((r) => r.status === s).length;
    if (list.length > 0 && count('rejected') === list.length) {
      return this.error(res, 400, 'VALIDATION_FAILED', 'every event was rejected', { receipts });
    }
    this.json(res, 200, { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), receipts });
  }

  private ingest(e: StoredEvent): Record<string, unknown> {
    this.submissions++;
    const id = typeof e?.id === 'string' ? e.id : '';
    const problem = validate(e) ?? this.reject?.(e);
    if (problem) return { id, status: 'rejected', code: 'VALIDATION_FAILED', message: problem };
    const prior = this.events.get(id);
    if (prior) return { id, status: 'duplicate', conflict: JSON.stringify(prior) !== JSON.stringify(e) };
    this.events.set(id, e);
    return { id, status: 'accepted' };
  }

  private peer(res: http.ServerResponse, body: Buffer, kind: 'posthog' | 'segment', answer: object): void {
    const parsed = JSON.parse(body.toString('utf8')) as { batch?: unknown[] };
    this.peers[kind] += parsed.batch?.length ?? 0;
    this.json(res, 200, answer);
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string, details?: object): void {
    this.json(res, status, { error: { code, message, requestId: `req_${this.requests}`, ...(details ? { details } : {}) } });
  }

  private json(res: http.ServerResponse, status: number, value: unknown): void {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

const str = (v: unknown) => typeof v === 'string' && v.length > 0;

function validate(e: StoredEvent): string | undefined {
  if (typeof e !== 'object' || e === null) return 'not an object';
  if (e.specversion !== '1.0') return 'specversion must be 1.0';
  for (const k of ['id', 'source', 'type', 'subject', 'time'] as const) if (!str(e[k])) return `${k} is required`;
  if (Number.isNaN(Date.parse(e.time))) return 'time is not RFC 3339';
  if (e.data !== undefined && (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data))) return 'data must be an object';
  return undefined;
}

/** Starts a sink on a free port. */
export function startSink(apiKey?: string): Promise<Sink> {
  return new Sink(apiKey).start();
}

/** Polls `cond` every few ms until it holds; the test's own timeout bounds the wait. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
