import type { ClickHouseStore, CommittedBatch, StreamBatch } from '../store/clickhouse/clickhouse-store.ts';
import type { PartitionLease } from './lease.ts';

/** How the committer retries (the worker's capped backoff, which gives up only when the worker stops). */
export type Retry = <T>(partitions: readonly number[], stage: string, fn: () => Promise<T>, onFail?: () => void) => Promise<T>;

interface Pending {
  batch: StreamBatch;
  keepAlive: () => void;
  resolve: (r: CommittedBatch | undefined) => void;
  reject: (err: unknown) => void;
}

/** Tuning of the committer. */
export interface StreamCommitterOptions {
  /** True while a partition other than `queued` has read entries it will soon submit (worth waiting for, at most `lingerMs`). */
  othersComing: (queued: ReadonlySet<number>) => boolean;
  /** Commit at once when this many events are queued. */
  maxEvents: number;
  /** After the first batch is queued, how long to wait for the other partitions' batches. */
  lingerMs: number;
}

/**
 * Merges the batches of a worker's partitions into ONE ClickHouse insert (one block: every
 * batch's events, rollups and watermark land together or not at all). Each insert costs
 * ClickHouse a new part per table, whatever its size, so fewer, larger inserts are what keeps
 * its CPU per event low. A partition submits one batch at a time and waits for it.
 */
export class StreamCommitter {
  private queue: Pending[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;

  constructor(
    private readonly store: ClickHouseStore,
    private readonly lease: PartitionLease,
    private readonly retry: Retry,
    private readonly opts: StreamCommitterOptions,
  ) {}

  /**
   * Commits a batch exactly once. Resolves with what was written, or `undefined` when an earlier
   * attempt whose outcome was unknown had landed (the caller catches the counters up from the store).
   */
  submit(batch: StreamBatch, keepAlive: () => void): Promise<CommittedBatch | undefined> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.firstAt = Date.now();
      this.queue.push({ batch, keepAlive, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.busy || this.queue.length === 0) return;
    const events = this.queue.reduce((n, p) => n + p.batch.events.length, 0);
    const wait = this.firstAt + this.opts.lingerMs - Date.now();
    if (events < this.opts.maxEvents && wait > 0 && this.opts.othersComing(new Set(this.queue.map((p) => p.batch.part)))) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, wait);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.queue;
    this.queue = [];
    this.busy = true;
    void this.run(group).finally(() => {
      this.busy = false;
      this.kick();
    });
  }

  private async run(group: Pending[]): Promise<void> {
    try {
      const results = await this.commit(group.map((p) => p.batch), () => group.forEach((p) => p.keepAlive()));
      group.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      for (const p of group) p.reject(err);
    }
  }

  /**
   * After a failed attempt (whose outcome may be unknown: a timeout, a lost connection) the next
   * attempt first waits until the server no longer runs the insert's query id, then reads the
   * watermarks: a batch that landed is not written again. (One insert is one block, so its
   * batches land together; each is checked on its own all the same.)
   */
  private async commit(batches: readonly StreamBatch[], keepAlive: () => void): Promise<(CommittedBatch | undefined)[]> {
    const results: (CommittedBatch | undefined)[] = new Array(batches.length);
    let pending = batches.map((_, i) => i);
    let queryId: string | undefined;
    await this.retry(
      batches.map((b) => b.part),
      'clickhouse insert',
      async () => {
        if (!this.lease.held) throw new Error(`lost the lease of partitions ${batches.map((b) => b.part).join(', ')}`);
        if (queryId !== undefined) {
          if (await this.store.isRunning(queryId)) throw new Error('the previous attempt is still running on the server');
          const marks = await Promise.all(pending.map((i) => this.store.watermark(batches[i]!.part)));
          pending = pending.filter((i, k) => marks[k]! < batches[i]!.lastSeq);
          if (pending.length === 0) return;
        }
        const these = pending.map((i) => batches[i]!);
        queryId = this.store.streamQueryId(these);
        const written = await this.store.commitStreams(these);
        pending.forEach((i, k) => (results[i] = written[k]));
      },
      keepAlive,
    );
    return results;
  }
}
