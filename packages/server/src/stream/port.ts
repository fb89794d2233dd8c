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

/** The partition of a tenant: FNV-1a of the tenant id, so all of a tenant's events share one partition. */
export function partitionOf(tenant: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tenant.length; i++) {
    h ^= tenant.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
