import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KeyService } from '../auth/keys.ts';
import { TallyError } from '../errors/registry.ts';
import { keyFromAuthorization } from './routes/segment.ts';

/**
 * The HTTP edge's overload limits (config `server.*`, see docs/overload.md). Requests beyond
 * them are refused whole — `503 OVERLOADED` with `Retry-After` — before their body is read,
 * so a burst costs the server a bounded amount of memory and event-loop time.
 */
export interface OverloadLimits {
  /** Bulk ingest requests (`POST /v1/events`, `/v1/batch`, `/api/v1/events`) in flight at once. */
  maxInflightIngest: number;
  /** Bytes of request bodies in flight at once, counted decompressed (what parsing costs). */
  maxInflightBytes: number;
  /** One body's limit, decompressed (`ingest.maxBodyBytes`). */
  maxBodyBytes: number;
}

/** Paths whose POSTs count against `maxInflightIngest`: the bulk ingest routes (Tally, Segment, OpenMeter). */
export const INGEST_PATHS: ReadonlySet<string> = new Set(['/v1/events', '/v1/batch', '/api/v1/events']);

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One admitted request's hold on the limits; released once it is answered and its handler is done. */
export interface Ticket {
  /** Body bytes counted for this request (content-length at first, decompressed size once known). */
  bytes: number;
  /** The body arrived and `bytes` is its decompressed size. */
  parsed: boolean;
  readonly ingest: boolean;
  /** The reply was produced (Fastify's onSend ran): no work of this request is left. */
  settled: boolean;
  /** The response ended or the connection closed. */
  closed: boolean;
  released: boolean;
}

const TICKET = Symbol('tally.admission');
type WithTicket = IncomingMessage & { [TICKET]?: Ticket };

/**
 * Counts ingest requests and body bytes in flight and refuses what exceeds the limits. One per
 * HTTP app; the body parser asks it how far a gzip body may decompress (`room`, `grow`).
 *
 * Bytes: a body counts its announced length while it arrives, its decompressed size once it
 * has. Admission checks every count; a body growing by decompression is checked against the
 * bodies already decompressed only — were it checked against the others' announced lengths
 * too, several gzip bodies arriving together could each block the others' growth and all be
 * refused. So decompressed bodies stay within `maxInflightBytes`, and bodies still arriving
 * within it too (at most twice the budget in all, in the worst case).
 */
export class Admission {
  inflightIngest = 0;
  inflightBytes = 0;
  /** The part of inflightBytes that belongs to decompressed (parsed) bodies. */
  private parsedBytes = 0;
  readonly refused = { requests: 0, bytes: 0 };

  constructor(readonly limits: OverloadLimits) {}

  /** Admits a request that announces `bytes` of body (its ticket rides on the request), or throws `OVERLOADED`. */
  admit(req: FastifyRequest, ingest: boolean, bytes: number): Ticket {
    if (ingest && this.inflightIngest >= this.limits.maxInflightIngest) {
      this.refused.requests++;
      throw overloaded(`${this.inflightIngest} ingest requests are in flight (server.maxInflightIngest)`);
    }
    if (this.inflightBytes + bytes > this.limits.maxInflightBytes) {
      this.refused.bytes++;
      throw overloaded(`${this.inflightBytes} bytes of request bodies are in flight and this one adds ${bytes} (server.maxInflightBytes)`);
    }
    if (ingest) this.inflightIngest++;
    this.inflightBytes += bytes;
    const ticket: Ticket = { bytes, parsed: false, ingest, settled: false, closed: false, released: false };
    (req.raw as WithTicket)[TICKET] = ticket;
    return ticket;
  }

  /** The most bytes the request's body may decompress to: its own limit, or what the decompressed bodies leave of the budget. */
  room(req: FastifyRequest): number {
    if (!ticketOf(req)) return this.limits.maxBodyBytes;
    return Math.min(this.limits.maxBodyBytes, this.limits.maxInflightBytes - this.parsedBytes);
  }

  /** Counts the request's arrived body as `total` bytes (decompressed); false (and counted as refused) when the decompressed bodies would exceed the budget. */
  grow(req: FastifyRequest, total: number): boolean {
    const t = ticketOf(req);
    if (!t || t.parsed) return true;
    if (this.parsedBytes + total > this.limits.maxInflightBytes) {
      this.refused.bytes++;
      return false;
    }
    this.inflightBytes += total - t.bytes;
    this.parsedBytes += total;
    t.bytes = total;
    t.parsed = true;
    return true;
  }

  /**
   * Waits for an ingest request's turn to be parsed and handled: one request a loop iteration.
   * Parsing, validating and appending a batch is one synchronous stretch (tens of ms for 1,000s
   * of events); without turns, the bodies that finish arriving together run back to back and
   * /healthz waits for all of them. The next turn is scheduled with setImmediate from inside
   * the previous one, which Node runs only after the next poll for I/O: health checks and
   * other requests get in between. Other requests (small bodies) never wait.
   */
  turn(req: FastifyRequest): Promise<void> {
    if (!ticketOf(req)?.ingest) return Promise.resolve();
    const mine = this.turns.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    this.turns = mine;
    return mine;
  }

  private turns: Promise<void> = Promise.resolve();

  /** Gives the ticket's share back, once. */
  release(t: Ticket): void {
    if (t.released) return;
    t.released = true;
    if (t.ingest) this.inflightIngest--;
    this.inflightBytes -= t.bytes;
    if (t.parsed) this.parsedBytes -= t.bytes;
  }

  /** The refusal for a body that would exceed the byte budget once decompressed. */
  bytesRefusal(): TallyError {
    return overloaded(`request bodies in flight would exceed ${this.limits.maxInflightBytes} bytes decompressed (server.maxInflightBytes)`);
  }
}

function overloaded(why: string): TallyError {
  return new TallyError('OVERLOADED', `the server is at its ingest limit: ${why}; nothing in this request was processed; retry after Retry-After`);
}

function ticketOf(req: FastifyRequest): Ticket | undefined {
  return (req.raw as WithTicket)[TICKET];
}

/** The announced body length: a number, undefined when chunked (or absent), NaN when malformed. */
function contentLength(req: FastifyRequest): number | undefined {
  const h = req.headers['content-length'];
  return h === undefined ? undefined : /^\d+$/.test(h) ? Number(h) : NaN;
}

/**
 * Admission hooks. `onRequest` (before any byte of the body is read): a request with a body
 * must carry a valid API key (an anonymous client cannot make the server buffer anything), its
 * announced length must fit the body limit, and it must fit the in-flight limits — otherwise
 * it is answered at once and Node discards the body unread. The ticket is released when both the
 * response is over and the reply was produced: a client that hangs up mid-handler does not free
 * its slot while its work still runs. Metrics: `tally_http_inflight_*`, `tally_http_refused_total`.
 */
export function registerAdmission(app: FastifyInstance, admission: Admission, keys: KeyService, registry: Registry): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!BODY_METHODS.has(req.method)) return;
    const length = contentLength(req);
    if (length === 0 || (length === undefined && req.headers['transfer-encoding'] === undefined)) return;
    if (length !== undefined && length > admission.limits.maxBodyBytes) throw new TallyError('PAYLOAD_TOO_LARGE', `the body is larger than ${admission.limits.maxBodyBytes} bytes`);
    keys.verify(keyFromAuthorization(req.headers.authorization));
    const path = req.url.split('?', 1)[0]!;
    const ticket = admission.admit(req, req.method === 'POST' && INGEST_PATHS.has(path), Number.isNaN(length) ? 0 : (length ?? 0));
    reply.raw.once('close', () => {
      ticket.closed = true;
      if (ticket.settled) admission.release(ticket);
    });
  });
  app.addHook('onSend', async (req, _reply, payload) => {
    const t = ticketOf(req);
    if (t) {
      t.settled = true;
      if (t.closed) admission.release(t);
    }
    return payload;
  });
  new Gauge({ name: 'tally_http_inflight_ingest_requests', help: 'Bulk ingest requests in flight (limit: server.maxInflightIngest)', registers: [registry], collect() { this.set(admission.inflightIngest); } });
  new Gauge({ name: 'tally_http_inflight_body_bytes', help: 'Request body bytes in flight, decompressed (limit: server.maxInflightBytes)', registers: [registry], collect() { this.set(admission.inflightBytes); } });
  new Counter({
    name: 'tally_http_refused_total',
    help: 'Requests refused with OVERLOADED, by the limit they hit (requests: server.maxInflightIngest, bytes: server.maxInflightBytes)',
    labelNames: ['limit'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ limit: 'requests' }, admission.refused.requests);
      this.inc({ limit: 'bytes' }, admission.refused.bytes);
    },
  });
}

/** Timeouts that cut slow clients (config `server.*TimeoutMs`). */
export interface ServerTimeouts {
  /** Request line and headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (a slow body). */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A connection with no bytes moving either way for this long is closed (a client that stopped reading). */
  idleTimeoutMs: number;
}

/** Everything the HTTP edge limits: in-flight requests and bytes, and the timeouts. */
export type EdgeLimits = Omit<OverloadLimits, 'maxBodyBytes'> & ServerTimeouts;

/**
 * Fastify and Node server options for the timeouts. Node checks the header and request timeouts
 * every `connectionsCheckingInterval` (30 s by default, which would let a 10 s limit run to 40 s),
 * so the check runs at a quarter of the header timeout, at most every second.
 */
export function timeoutOptions(t: ServerTimeouts): { connectionTimeout: number; keepAliveTimeout: number; requestTimeout: number; http: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } } {
  const check = Math.max(25, Math.min(1000, Math.floor(t.headersTimeoutMs / 4)));
  return {
    connectionTimeout: t.idleTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    requestTimeout: t.requestTimeoutMs,
    http: { headersTimeout: t.headersTimeoutMs, requestTimeout: t.requestTimeoutMs, keepAliveTimeout: t.keepAliveTimeoutMs, connectionsCheckingInterval: check },
  };
}
