import { performance } from 'node:perf_hooks';
import type { ClientOptions, ResolvedOptions } from './options.ts';
import type { ClientStats, FlushResult, ShutdownResult, TallyError, TrackEvent } from './types.ts';
import type { Attempt } from './transport.ts';
import type { Batch } from './queue.ts';
import { resolveOptions } from './options.ts';
import { EventQueue, batchChunks, idsOf } from './queue.ts';
import { Transport } from './transport.ts';
import { classify } from './response.ts';
import { nextDelay } from './backoff.ts';
import { DropLedger } from './drops.ts';
import { Spool } from './spool.ts';
import { invalidReason, quotedTimeOf } from './event.ts';
import { EventWriter, ID_OFFSET } from './bytes.ts';
import { applyReceipts } from './receipts.ts';

interface InFlight {
  batch: Batch;
  attempt: Attempt;
  abandoned: boolean;
}

interface Waiter {
  done: () => void;
}

/** Who a background job is billed to. */
export interface JobOptions {
  tenant: string;
  actor?: string;
  properties?: Record<string, unknown>;
}

/** The Tally client. All methods are safe to call at any time and never throw. */
export interface TallyClient {
  /** Queues an event without I/O (O(1), no throw); returns its id, or undefined if it was dropped. */
  track(event: TrackEvent): string | undefined;
  /** Runs `fn` and records a `job.completed` event (status ok|error, durationMs); returns or rethrows what `fn` does. */
  trackJob<T>(name: string, fn: () => T | Promise<T>, options: JobOptions): Promise<T>;
  /** Sends everything queued; resolves when drained or after `timeout` ms (default 10 s). */
  flush(options?: { timeout?: number }): Promise<FlushResult>;
  /** Stops accepting events, flushes within `timeout` (default 10 s), then spools or drops the rest. */
  shutdown(options?: { timeout?: number }): Promise<ShutdownResult>;
  /** A snapshot of the exact counters. */
  stats(): ClientStats;
}

/**
 * The middleware's fast path (internal): records one `api.request` from its measurements, which
 * the middleware built itself (non-empty strings, numbers), so they need no validation. Not part
 * of TallyClient, so any object with `track()` still works as a middleware's client.
 */
export const RECORD = Symbol.for('@tally/sdk.record');

/** The shape of the internal fast path; see {@link RECORD}. */
export type RecordFn = (
  type: string,
  tenant: string,
  actor: string | undefined,
  route: string,
  method: string,
  status: number,
  durationMs: number,
  requestBytes: number,
  responseBytes: number,
  aborted: boolean,
  error: string | undefined,
) => void;

/** Request events staged before serialisation; see Client#[RECORD]. */
const STAGE = 256;

/** Creates a client; throws only on invalid options (listing every problem). */
export function createClient(options: ClientOptions): TallyClient {
  return new Client(resolveOptions(options));
}

class Client implements TallyClient {
  private readonly queue: EventQueue;
  private readonly transport: Transport;
  private readonly drops: DropLedger;
  private readonly spool: Spool | undefined;
  private readonly inFlight = new Set<InFlight>();
  private readonly waiters = new Set<Waiter>();
  private readonly n = { tracked: 0, replayed: 0, acknowledged: 0, duplicates: 0, rejected: 0, sent: 0, requests: 0, retries: 0, conflicts: 0, inFlight: 0, parked: 0 };
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private immediate = false;
  private draining = 0;
  private failures = 0;
  private backoffUntil = 0;
  private closing: Promise<ShutdownResult> | undefined;
  private closed = false;
  private readonly live = () => this.liveEvents();
  private readonly writer: EventWriter;
  // Staged request events, column by column (no object per request).
  private staged = 0;
  private readonly sRefs: (string | undefined)[] = new Array<string | undefined>(STAGE * 6).fill(undefined);
  private readonly sNums = new Float64Array(STAGE * 6);

  constructor(private readonly o: ResolvedOptions) {
    this.queue = new EventQueue(o.maxQueueEvents, o.maxQueueBytes);
    this.transport = new Transport(o.url, o.apiKey, o.requestTimeoutMs, o.gzip, o.maxConcurrentRequests);
    this.drops = new DropLedger(o.onDrop);
    this.writer = new EventWriter(o.source);
    if (o.spool) {
      this.spool = new Spool(o.spool.path, o.spool.maxBytes, (err) => this.error({ kind: 'spool', message: `spool disabled: ${err.message}`, retriable: false }));
      for (const [id, json] of this.spool.load()) {
        this.n.replayed++;
        this.evicted(this.queue.push(id, json, Buffer.byteLength(json)));
      }
      this.spool.rewrite(this.liveEvents());
      if (this.queue.length > 0) this.arm(0);
    }
  }

  track(event: TrackEvent): string | undefined {
    try {
      if (this.closed) {
        this.drops.add('closed', [], 1);
        return undefined;
      }
      const bad = invalidReason(event);
      if (bad !== undefined) {
        this.drops.add('invalid', [], 1, bad);
        return undefined;
      }
      if (this.staged > 0) this.unstage(); // keep the queue in tracking order
      const now = this.o.now();
      const p = event.properties;
      const data = p === undefined ? '{}' : JSON.stringify(p);
      if (typeof data !== 'string') throw new TypeError('properties cannot be serialised');
      const time = event.time === undefined ? undefined : quotedTimeOf(event.time, now);
      const w = this.queue.writer;
      const len = this.writer.event(w, this.o.maxEventBytes, now, event.id, event.source, event.type, event.tenant, event.actor, time, data);
      const id = event.id ?? (len > 0 ? w.buf.toString('latin1', w.pos + ID_OFFSET, w.pos + ID_OFFSET + 36) : undefined);
      // A generated id is not kept as a string: the queue reads it back from the bytes if needed.
      return this.enqueue(event.id === undefined && len > 0 && len <= this.o.maxEventBytes ? undefined : id, len) ? id : undefined;
    } catch (err) {
      this.drops.add('invalid', [], 1, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  /**
   * See {@link RECORD}. Serialising one event at a time in the middle of request handling runs
   * on cold caches and costs several times what the same work costs in a loop, so a request only
   * stores its measurements (a few array writes, no allocation); up to 256 of them are serialised
   * together on the next send, or at once when the stage is full. Staged events count as queued.
   * With a spool, events are serialised (and spooled) right away, as track() does.
   */
  [RECORD](type: string, tenant: string, actor: string | undefined, route: string, method: string, status: number, durationMs: number, requestBytes: number, responseBytes: number, aborted: boolean, error: string | undefined): void {
    if (this.closed) {
      this.drops.add('closed', [], 1);
      return;
    }
    this.n.tracked++;
    const k = this.staged++;
    const r = this.sRefs;
    const n = this.sNums;
    const i = k * 6;
    r[i] = type;
    r[i + 1] = tenant;
    r[i + 2] = actor;
    r[i + 3] = route;
    r[i + 4] = method;
    r[i + 5] = error;
    n[i] = this.o.now();
    n[i + 1] = status;
    n[i + 2] = durationMs;
    n[i + 3] = requestBytes;
    n[i + 4] = responseBytes;
    n[i + 5] = aborted ? 1 : 0;
    if (this.staged === STAGE || this.spool) this.unstage();
    else if (this.timer === undefined && this.o.mode === 'background') this.arm(this.o.flushIntervalMs);
  }

  /** Serialises every staged request event into the queue, oldest first. */
  private unstage(): void {
    const count = this.staged;
    this.staged = 0;
    const r = this.sRefs;
    const n = this.sNums;
    const w = this.queue.writer;
    for (let k = 0; k < count; k++) {
      const i = k * 6;
      try {
        const len = this.writer.request(w, n[i] as number, r[i] as string, r[i + 1] as string, r[i + 2], r[i + 3] as string, r[i + 4] as string, n[i + 1] as number, n[i + 2] as number, n[i + 3] as number, n[i + 4] as number, n[i + 5] === 1, r[i + 5]);
        this.enqueue(undefined, len, true); // the id string is made only if it is ever needed (idsOf)
      } catch (err) {
        this.n.tracked--; // dropped as invalid instead
        this.drops.add('invalid', [], 1, err instanceof Error ? err.message : String(err));
      }
    }
    r.fill(undefined, 0, count * 6); // do not keep the strings alive
  }

  /**
   * Queues the event just written (uncommitted) at the slab writer's position, `len` bytes, or
   * drops it as invalid when it is larger than maxEventBytes (`len` -1: larger for certain),
   * spooling it first if on. `staged` events were counted as tracked when they were staged.
   */
  private enqueue(id: string | undefined, len: number, staged = false): boolean {
    const max = this.o.maxEventBytes;
    const w = this.queue.writer;
    if (len < 0 || len > max) {
      if (staged) this.n.tracked--; // dropped as invalid instead
      this.drops.add('invalid', id === undefined ? [] : [id], 1, len < 0 ? `event is larger than maxEventBytes (${max})` : `event is ${len} bytes, more than maxEventBytes (${max})`);
      return false;
    }
    const slab = w.buf;
    const off = w.commit(len);
    if (!staged) this.n.tracked++;
    this.spool?.appendBytes(slab, off, len + 2, this.live);
    const evicted = this.queue.pushEncoded(id, slab, off, len);
    if (evicted) this.evicted(evicted);
    this.schedule();
    return true;
  }

  async trackJob<T>(name: string, fn: () => T | Promise<T>, options: JobOptions): Promise<T> {
    const start = performance.now();
    let error: unknown;
    let failed = false;
    try {
      return await fn();
    } catch (err) {
      failed = true;
      error = err;
      throw err;
    } finally {
      const properties: Record<string, unknown> = { ...options.properties, job: name, status: failed ? 'error' : 'ok', durationMs: performance.now() - start };
      if (failed) properties.error = error instanceof Error ? error.name : typeof error;
      this.track({ type: 'job.completed', tenant: options.tenant, actor: options.actor, properties });
    }
  }

  flush(options: { timeout?: number } = {}): Promise<FlushResult> {
    const before = this.outcomes();
    this.draining++;
    return new Promise<FlushResult>((resolve) => {
      const waiter: Waiter = {
        done: () => {
          clearTimeout(deadline);
          this.waiters.delete(waiter);
          this.draining--;
          const after = this.outcomes();
          const pending = this.queue.length + this.staged + this.n.inFlight;
          resolve({ drained: pending === 0, delivered: after.delivered - before.delivered, lost: after.lost - before.lost, pending });
        },
      };
      // Deliberately ref'd: the caller awaits this, so the process should live until it settles.
      const deadline = setTimeout(waiter.done, options.timeout ?? 10_000);
      this.waiters.add(waiter);
      this.pump(true);
      this.settleWaiters();
    });
  }

  shutdown(options: { timeout?: number } = {}): Promise<ShutdownResult> {
    this.closing ??= this.close(options.timeout ?? 10_000);
    return this.closing;
  }

  stats(): ClientStats {
    const n = this.n;
    return {
      queued: this.queue.length + this.staged + n.parked,
      inFlight: n.inFlight,
      acknowledged: n.acknowledged,
      duplicates: n.duplicates,
      rejected: n.rejected,
      dropped: this.drops.total,
      tracked: n.tracked,
      replayed: n.replayed,
      sent: n.sent,
      requests: n.requests,
      retries: n.retries,
      conflicts: n.conflicts,
      droppedBy: { ...this.drops.byReason },
    };
  }

  private async close(timeout: number): Promise<ShutdownResult> {
    this.closed = true;
    await this.flush({ timeout });
    clearTimeout(this.timer);
    this.unstage();
    const left = this.queue.take(Infinity, Infinity);
    for (const f of this.inFlight) {
      f.abandoned = true;
      f.attempt.abort();
      left.ids.push(...idsOf(f.batch));
    }
    this.inFlight.clear();
    this.n.inFlight = 0;
    let spooled = 0;
    if (this.spool) {
      spooled = left.ids.length; // unresolved in the file: the next start re-sends them
      this.n.parked = spooled;
      this.spool.close();
    } else if (left.ids.length > 0) {
      this.drops.add('shutdown', idsOf(left));
    }
    this.transport.close();
    this.drops.report();
    const { delivered, lost } = this.outcomes();
    return { delivered, lost, spooled, stats: this.stats() };
  }

  private outcomes(): { delivered: number; lost: number } {
    return { delivered: this.n.acknowledged + this.n.duplicates, lost: this.n.rejected + this.drops.total };
  }

  private *liveEvents(): Generator<[string, Uint8Array]> {
    yield* this.queue.entries();
    for (const f of this.inFlight) {
      const b = f.batch;
      const ids = idsOf(b);
      for (let k = 0; k < ids.length; k++) yield [ids[k] as string, (b.slabs[k] as Buffer).subarray(b.offs[k] as number, (b.offs[k] as number) + (b.lens[k] as number))];
    }
  }

  private evicted(ids: string[] | undefined): void {
    if (!ids) return;
    this.drops.add('buffer_full', ids);
    this.spool?.resolve(ids);
  }

  /** Called by track(): a full batch goes out on the next turn, a partial one after flushIntervalMs. */
  private schedule(): void {
    if (this.o.mode === 'serverless') return;
    if (this.queue.length >= this.o.flushAt) {
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(() => {
          this.immediate = false;
          this.pump(false);
        }).unref();
      }
    } else if (this.timer === undefined) {
      this.arm(this.o.flushIntervalMs);
    }
  }

  private arm(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump(true);
    }, delayMs).unref();
  }

  /** Starts requests while there is room; `partial` also sends batches smaller than flushAt. */
  private pump(partial: boolean): void {
    if (this.staged > 0) this.unstage();
    this.spool?.sync();
    if (this.closing && this.draining === 0) return;
    const active = this.o.mode === 'background' || this.draining > 0;
    while (active && this.inFlight.size < this.o.maxConcurrentRequests && this.queue.length > 0) {
      const wait = this.backoffUntil - Date.now();
      if (wait > 0) {
        this.arm(wait);
        return;
      }
      if (!partial && this.draining === 0 && this.queue.length < this.o.flushAt) break;
      this.send(this.queue.take(this.o.maxBatchEvents, this.o.maxBatchBytes));
    }
    if (active && this.queue.length > 0 && this.o.mode === 'background') this.arm(this.o.flushIntervalMs);
    this.settleWaiters(); // expiry may have emptied the queue without a request
  }

  private send(batch: Batch): void {
    this.expire(batch);
    if (batch.ids.length === 0) return;
    const { chunks, length } = batchChunks(batch);
    const f: InFlight = { batch, attempt: this.transport.post(chunks, length), abandoned: false };
    this.inFlight.add(f);
    this.n.requests++;
    this.n.sent += batch.ids.length;
    this.n.inFlight += batch.ids.length;
    void f.attempt.result.then((r) => {
      if (f.abandoned) return;
      this.inFlight.delete(f);
      this.n.inFlight -= batch.ids.length;
      this.settle(batch, classify(r, batch.ids.length, Date.now()));
      this.pump(false);
      this.settleWaiters();
    });
  }

  /** Drops events that have kept failing for longer than the retry budget. */
  private expire(b: Batch): void {
    const now = this.o.now();
    const budget = this.o.retry.budgetMs;
    const keep = b.failedAt.map((t) => !(now - t > budget)); // NaN (never failed) compares false
    if (keep.every(Boolean)) return;
    const expired = idsOf(b).filter((_, k) => !keep[k]);
    for (const key of ['ids', 'slabs', 'offs', 'lens', 'bytes', 'failedAt', 'seqs'] as const) (b[key] as unknown[]) = (b[key] as unknown[]).filter((_, k) => keep[k]);
    this.drops.add('retry_budget', expired);
    this.spool?.resolve(expired);
  }

  private settle(batch: Batch, outcome: ReturnType<typeof classify>): void {
    if (outcome.type === 'answered') {
      this.failures = 0;
      const r = applyReceipts(batch.ids.length, outcome.receipts);
      this.n.acknowledged += r.accepted;
      this.n.duplicates += r.duplicates;
      this.n.rejected += r.rejected.length;
      this.n.conflicts += r.conflicts.length;
      if (this.spool) this.spool.resolve(idsOf(batch));
      if (outcome.error) this.error(outcome.error);
      if (r.rejected.length > 0) this.error({ kind: 'rejected', message: `${r.rejected.length} event(s) rejected`, retriable: false, receipts: r.rejected });
      if (r.conflicts.length > 0) this.error({ kind: 'conflict', message: `${r.conflicts.length} id(s) reused for different events`, retriable: false, receipts: r.conflicts });
    } else if (outcome.type === 'retry') {
      this.n.retries++;
      const now = this.o.now();
      for (let k = 0; k < batch.failedAt.length; k++) if (Number.isNaN(batch.failedAt[k])) batch.failedAt[k] = now;
      this.evicted(this.queue.unshiftBatch(batch));
      this.backoffUntil = Date.now() + nextDelay(this.failures++, outcome.retryAfterMs, this.o.retry);
      this.error(outcome.error);
    } else {
      const ids = idsOf(batch);
      this.drops.add('http_error', ids, ids.length, outcome.error.message);
      this.spool?.resolve(ids);
      this.error(outcome.error);
    }
  }

  private settleWaiters(): void {
    if (this.queue.length === 0 && this.staged === 0 && this.inFlight.size === 0) for (const w of [...this.waiters]) w.done();
  }

  private error(e: TallyError): void {
    try {
      this.o.onError?.(e);
    } catch {
      // The host's callback failing must not stop delivery.
    }
  }
}
