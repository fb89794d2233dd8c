import type { EventRecord } from '../events/event.ts';
import type { ClickHouseStore, SequencedEvent } from '../store/clickhouse/clickhouse-store.ts';
import type { EventLog, PartitionCursor } from '../stream/port.ts';
import type { DerivedRows } from '../usage/derive-rollups.ts';
import type { PartitionLease } from './lease.ts';
import type { LiveCounters } from './live-counters.ts';
import { StreamCommitter } from './stream-committer.ts';

/** What a pipeline worker needs, already connected. */
export interface WorkerDeps {
  store: ClickHouseStore;
  log: EventLog;
  counters: LiveCounters;
  lease: PartitionLease;
  derive: (events: readonly EventRecord[]) => DerivedRows;
  /** Most events a partition reads into one batch (a worker's insert carries one batch of each of its partitions). */
  batchSize: number;
  /** How long a batch waits for the other partitions' batches to share its insert (default 500 ms). */
  lingerMs?: number;
  /** Called for retries and recoveries (logging). */
  onEvent?: (e: WorkerEvent) => void;
  /** Called when a partition loop cannot go on (its lease was lost): the process should exit. */
  onFatal?: (err: Error) => void;
}

/** Things a worker reports. */
export type WorkerEvent =
  | { kind: 'committed'; partition: number; seq: number; events: number; fresh: number }
  | { kind: 'retry'; partition: number; stage: string; error: string }
  | { kind: 'recovered'; partition: number; watermark: number; countersReplayed: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A pipeline worker: for each partition it owns, reads the log from the ClickHouse watermark
 * on, commits batches (events + rollups + watermark in one insert, shared with the batches of
 * its other partitions), then counts them in Redis (idempotent by the same watermark), then
 * acknowledges the log. Any failure is retried with backoff until it succeeds, so events
 * simply wait in the log while a backend is down.
 */
export class PipelineWorker {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly cursors = new Map<number, PartitionCursor>();
  /** Committed watermark per partition (for tests and logs). */
  readonly watermarks = new Map<number, number>();
  private readonly committer: StreamCommitter;

  constructor(private readonly d: WorkerDeps) {
    this.committer = new StreamCommitter(d.store, d.lease, (parts, stage, fn, onFail) => this.retry(parts[0]!, parts.length > 1 ? `${stage} (partitions ${parts.join(', ')})` : stage, fn, onFail), {
      othersComing: (queued) => d.lease.partitions.some((p) => !queued.has(p) && (this.cursors.get(p)?.backlog() ?? 0) > 0),
      maxEvents: d.batchSize * d.lease.partitions.length,
      lingerMs: d.lingerMs ?? 500,
    });
  }

  /** Takes the leases and starts one loop per owned partition. */
  async start(signal?: AbortSignal): Promise<void> {
    await this.d.lease.acquire(signal);
    this.running = true;
    this.loops = this.d.lease.partitions.map((p) =>
      this.runPartition(p).catch((err: Error) => {
        if (this.running) this.d.onFatal?.(err);
      }),
    );
  }

  /** Stops after the batches in flight; releases the leases. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
    await this.d.lease.release();
  }

  private report(e: WorkerEvent): void {
    this.d.onEvent?.(e);
  }

  /** Retries `fn` with capped exponential backoff until it succeeds or the worker stops. */
  private async retry<T>(partition: number, stage: string, fn: () => Promise<T>, onFail?: () => void): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!this.running) throw err;
        this.report({ kind: 'retry', partition, stage, error: (err as Error).message });
        onFail?.();
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
  }

  private async recover(p: number): Promise<number> {
    const { store, counters } = this.d;
    store.resetPartition(p);
    const wm = await this.retry(p, 'watermark', () => store.watermark(p));
    const replayed = await this.retry(p, 'counters catch-up', () => counters.catchUp(p, wm, (part, a, b) => store.eventsOfPartition(part, a, b), this.d.derive));
    this.watermarks.set(p, wm);
    this.report({ kind: 'recovered', partition: p, watermark: wm, countersReplayed: replayed });
    return wm;
  }

  private async runPartition(p: number): Promise<void> {
    const wm = await this.recover(p);
    try {
      await this.consume(p, wm);
    } finally {
      await this.cursors.get(p)?.close();
      this.cursors.delete(p);
    }
  }

  private async consume(p: number, startWm: number): Promise<void> {
    let wm = startWm;
    while (this.running) {
      let cursor = this.cursors.get(p);
      if (!this.d.lease.held) throw new Error(`lost the lease of partition ${p}; stopping so another owner can take it`);
      if (!cursor) {
        cursor = await this.retry(p, 'open cursor', () => this.d.log.open(p, wm));
        this.cursors.set(p, cursor);
      }
      let entries;
      try {
        entries = await cursor.next(this.d.batchSize, 1000);
      } catch (err) {
        this.report({ kind: 'retry', partition: p, stage: 'fetch', error: (err as Error).message });
        await cursor.close();
        this.cursors.delete(p);
        await sleep(500);
        continue;
      }
      if (entries.length === 0) continue;
      const batch: SequencedEvent[] = entries.filter((e) => e.seq > wm).sort((a, b) => a.seq - b.seq);
      if (batch.length > 0) {
        const lastSeq = batch[batch.length - 1]!.seq;
        await this.commit(p, cursor, batch, lastSeq, cursor.backlog() === 0);
        wm = lastSeq;
        this.watermarks.set(p, wm);
      }
      cursor.commit();
    }
  }

  /**
   * Commits one batch exactly once (through the committer, see StreamCommitter), then counts it
   * in Redis: from the rows just written, or, when an earlier attempt of unknown outcome had
   * landed, caught up from what ClickHouse holds.
   */
  private async commit(p: number, cursor: PartitionCursor, events: SequencedEvent[], lastSeq: number, caughtUp: boolean): Promise<void> {
    const { store, counters } = this.d;
    const done = await this.committer.submit({ part: p, lastSeq, events }, () => cursor.keepAlive());
    const log = { events: events.length, caughtUp };
    if (done) await this.retry(p, 'redis counters', () => counters.apply(p, lastSeq, done.derived, log), () => cursor.keepAlive());
    else await this.retry(p, 'counters catch-up', () => counters.catchUp(p, lastSeq, (part, a, b) => store.eventsOfPartition(part, a, b), this.d.derive));
    this.report({ kind: 'committed', partition: p, seq: lastSeq, events: events.length, fresh: done?.fresh.length ?? -1 });
  }
}
