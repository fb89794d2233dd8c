import type { EventRecord } from '../events/event.ts';

/** What the log did with a published event: stored, or recognised as a recent re-send. */
export type PublishOutcome = 'accepted' | 'duplicate';

/** One event read back from a partition, with its position in the log (the events of one message share it). */
export interface LogEntry {
  seq: number;
  record: EventRecord;
}

/** Lag of one partition's consumer: events in the log not yet committed downstream. */
export interface PartitionLag {
  partition: number;
  pending: number;
}

/** A reader positioned in one partition; entries come in log order. */
export interface PartitionCursor {
  next(max: number, waitMs: number): Promise<LogEntry[]>;
  /** Acknowledges everything read so far (call after committing it downstream). */
  commit(): void;
  /** Tells the log the last entries are still being worked on (no redelivery yet). */
  keepAlive(): void;
  /** Messages the log holds for this reader beyond what `next` returned (0: caught up). */
  backlog(): number;
  close(): Promise<void>;
}

/**
 * What the log remembers per event when it stores events in batches: each key claimed for the
 * duplicate window (so a re-send inside it is answered `duplicate`), and how many events each
 * partition received (for the lag gauge). Redis in the distributed profile.
 */
export interface RecentEvents {
  /**
   * Adds `stored` to the partition's count of events appended, and claims each key for
   * `windowMs`: true where this is the key's first claim inside the window.
   */
  record(partition: number, keys: readonly string[], stored: number, windowMs: number): Promise<boolean[]>;
}

/**
 * The event log port of the distributed profile (JetStream now): a partitioned, durable,
 * de-duplicating log. API nodes publish; pipeline workers read partitions.
 */
export interface EventLog {
  readonly partitions: number;
  /** Publishes events; resolves once the log has durably stored (or recognised) each one. */
  publish(events: readonly EventRecord[]): Promise<PublishOutcome[]>;
  /** Opens a cursor on a partition positioned right after `afterSeq` (a committed watermark). */
  open(partition: number, afterSeq: number): Promise<PartitionCursor>;
  lag(): Promise<PartitionLag[]>;
  /** Throws when the log cannot take events now. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** FNV-1a of a string, continuing from `h` (32-bit). */
function fnv1a(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The partition of a tenant: FNV-1a of the tenant id, so all of a (not hot) tenant's events share one partition. */
export function partitionOf(tenant: string, partitions: number): number {
  return fnv1a(tenant) % partitions;
}

/**
 * Where an event goes: a tenant's partition, or, for a tenant listed as hot, a partition chosen
 * by the hash of `tenant \0 id`, so its events spread over every partition. Exactness needs only
 * that every copy of one event (same tenant and id) lands in the same partition, which both rules
 * keep as long as the list does not change for the life of the stream (docs/distributed.md).
 */
export class Partitioner {
  private readonly hot: ReadonlySet<string>;
  private readonly all: readonly number[];

  constructor(
    readonly partitions: number,
    hotTenants: readonly string[] = [],
  ) {
    this.hot = new Set(hotTenants);
    this.all = Array.from({ length: partitions }, (_, p) => p);
  }

  /** True for a tenant whose events are spread over every partition. */
  isHot(tenant: string): boolean {
    return this.hot.size > 0 && this.hot.has(tenant);
  }

  /** The partition of one event. */
  of(tenant: string, id: string): number {
    if (!this.isHot(tenant)) return partitionOf(tenant, this.partitions);
    return fnv1a(id, fnv1a('\u0000', fnv1a(tenant))) % this.partitions;
  }

  /** The partitions that may hold a tenant's events (and its live counters). */
  spans(tenant: string): readonly number[] {
    return this.isHot(tenant) ? this.all : [partitionOf(tenant, this.partitions)];
  }
}
