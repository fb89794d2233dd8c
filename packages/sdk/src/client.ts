import { performance } from 'node:perf_hooks';
import type { ClientOptions, ResolvedOptions } from './options.ts';
import type { ClientStats, FlushResult, ShutdownResult, TallyError, TrackEvent } from './types.ts';
import type { Attempt } from './transport.ts';
import type { Batch } from './queue.ts';
import { resolveOptions } from './options.ts';
import { EventQueue } from './queue.ts';
import { Transport } from './transport.ts';
import { classify } from './response.ts';
import { nextDelay } from './backoff.ts';
import { DropLedger } from './drops.ts';
import { Spool } from './spool.ts';
import { uuidv7 } from './uuid.ts';
import { invalidReason, toCloudEventJson } from './event.ts';
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

  constructor(private readonly o: ResolvedOptions) {
    this.queue = new EventQueue(o.maxQueueEvents, o.maxQueueBytes);
    this.transport = new Transport(o.url, o.apiKey, o.requestTimeoutMs, o.gzip, o.maxConcurrentRequests);
    this.drops = new DropLedger(o.onDrop);
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
      const now = this.o.now();
      const id = event.id ?? uuidv7(now);
      const json = toCloudEventJson(event, id, this.o.source, now);
      const bytes = Buffer.byteLength(json);
      if (bytes > this.o.maxEventBytes) {
        this.drops.add('invalid', [id], 1, `event is ${bytes} bytes, more than maxEventBytes`);
        return undefined;
      }
      this.n.tracked++;
      this.spool?.append(json, bytes, this.live);
      const evicted = this.queue.push(id, json, bytes);
      if (evicted) this.evicted(evicted);
      this.schedule();
      return id;
    } catch (err) {
      this.drops.add('invalid', [], 1, err instanceof Error ? err.message : String(err));
      return undefined;
    }
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
          const pending = this.queue.length + this.n.inFlight;
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
      queued: this.queue.length + n.parked,
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
    const left = this.queue.take(Infinity, Infinity);
    for (const f of this.inFlight) {
      f.abandoned = true;
      f.attempt.abort();
      left.ids.push(...f.batch.ids);
    }
    this.inFlight.clear();
    this.n.inFlight = 0;
    let spooled = 0;
    if (this.spool) {
      spooled = left.ids.length; // unresolved in the file: the next start re-sends them
      this.n.parked = spooled;
      this.spool.close();
    } else if (left.ids.length > 0) {
      this.drops.add('shutdown', left.ids);
    }
    this.transport.close();
    this.drops.report();
    const { delivered, lost } = this.outcomes();
    return { delivered, lost, spooled, stats: this.stats() };
  }

  private outcomes(): { delivered: number; lost: number } {
    return { delivered: this.n.acknowledged + this.n.duplicates, lost: this.n.rejected + this.drops.total };
  }

  private *liveEvents(): Generator<[string, string]> {
    yield* this.queue.entries();
    for (const f of this.inFlight) for (let k = 0; k < f.batch.ids.length; k++) yield [f.batch.ids[k] as string, f.batch.jsons[k] as string];
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
    const f: InFlight = { batch, attempt: this.transport.post(batch.jsons), abandoned: false };
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
    const expired = b.ids.filter((_, k) => !keep[k]);
    for (const key of ['ids', 'jsons', 'bytes', 'failedAt'] as const) (b[key] as unknown[]) = (b[key] as unknown[]).filter((_, k) => keep[k]);
    this.drops.add('retry_budget', expired);
    this.spool?.resolve(expired);
  }

  private settle(batch: Batch, outcome: ReturnType<typeof classify>): void {
    if (outcome.type === 'answered') {
      this.failures = 0;
      const r = applyReceipts(batch.ids, outcome.receipts);
      this.n.acknowledged += r.accepted;
      this.n.duplicates += r.duplicates;
      this.n.rejected += r.rejected.length;
      this.n.conflicts += r.conflicts.length;
      this.spool?.resolve(batch.ids);
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
      this.drops.add('http_error', batch.ids, batch.ids.length, outcome.error.message);
      this.spool?.resolve(batch.ids);
      this.error(outcome.error);
    }
  }

  private settleWaiters(): void {
    if (this.queue.length === 0 && this.inFlight.size === 0) for (const w of [...this.waiters]) w.done();
  }

  private error(e: TallyError): void {
    try {
      this.o.onError?.(e);
    } catch {
      // The host's callback failing must not stop delivery.
    }
  }
}
