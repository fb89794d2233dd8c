import { hash } from 'node:crypto';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, connect, nanos, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { AckInbox } from './ack-inbox.ts';
import { consumeCursor } from './partition-cursor.ts';
import { eventKey, type EventRecord } from '../../events/event.ts';
import { RowBinaryWriter } from '../../events/row-binary.ts';
import { beginBatch, endBatch, writeEventColumns, writeReadings, type MetersFor } from '../payload.ts';
import { Partitioner, type EventLog, type PartitionCursor, type PartitionLag, type PublishOutcome, type RecentEvents } from '../port.ts';

/** Where and how the JetStream log lives. */
export interface JetStreamLogOptions {
  url: string;
  stream: string;
  /** Subjects are `<prefix>.<partition>`. */
  subjectPrefix: string;
  partitions: number;
  /** JetStream's Msg-Id duplicate window. */
  duplicateWindowMs: number;
  /** How long events stay in the stream (they wait here while ClickHouse is down). */
  maxAgeMs: number;
  /** Connection name shown by the server. */
  name?: string;
  /** Per-event memory of the duplicate window; without it every stored event is answered `accepted`. */
  recent?: RecentEvents;
  /** The reader's meters: events read with these meters at ingest keep those readings (no re-evaluation). */
  metersFor?: MetersFor;
  /** Tenants whose events spread over every partition by event id (see `Partitioner`); fixed for the life of the stream. */
  hotTenants?: readonly string[];
}

const ACK_WAIT_MS = 30_000;
/**
 * Most event bytes in one stream message (NATS refuses messages above its max_payload, 1 MiB by
 * default). With MAX_UNACKED it bounds what a reader holds: ≤ 64 MiB per partition.
 */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Most events in one stream message. */
const MAX_MESSAGE_EVENTS = 1000;
const PUBLISH_TIMEOUT_MS = 10_000;
/**
 * Messages delivered to a reader and not yet acknowledged: the server stops there, which is what
 * bounds the reader's memory while its commits fail (e.g. ClickHouse down), as consume() pulls
 * on whatever it received.
 */
const MAX_UNACKED = 1_000;

/** The events of one publish that go into one stream message. */
interface Chunk {
  partition: number;
  start: number;
  end: number;
  members: number[];
}

/**
 * The event log on NATS JetStream: one stream, subjects partitioned by tenant hash (hot tenants:
 * by event hash within the tenant), one durable
 * pull consumer per partition. A message carries the events of one publish call and one
 * partition (its `Nats-Msg-Id` is a hash of their keys, so a retried request is stored once);
 * the duplicate window per event is `RecentEvents` (docs/distributed.md says why).
 */
export class JetStreamLog implements EventLog {
  readonly partitions: number;
  private readonly partitioner: Partitioner;
  private acks: AckInbox | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: JetStreamLogOptions,
  ) {
    this.partitions = opts.partitions;
    this.partitioner = new Partitioner(opts.partitions, opts.hotTenants);
  }

  /** Connects and creates the stream when missing. */
  static async open(opts: JetStreamLogOptions): Promise<JetStreamLog> {
    const nc = await connect({ servers: opts.url, name: opts.name ?? 'tally', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    try {
      const jsm = await nc.jetstreamManager();
      try {
        await jsm.streams.info(opts.stream);
      } catch {
        await jsm.streams.add({
          name: opts.stream,
          subjects: [`${opts.subjectPrefix}.*`],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          duplicate_window: nanos(opts.duplicateWindowMs),
          max_age: nanos(opts.maxAgeMs),
        });
      }
      return new JetStreamLog(nc, nc.jetstream(), jsm, opts);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  subject(partition: number): string {
    return `${this.opts.subjectPrefix}.${partition}`;
  }

  consumerName(partition: number): string {
    return `${this.opts.stream}_p${partition}`;
  }

  /**
   * Publishes the events as one message per partition (split above MAX_MESSAGE_EVENTS events or
   * MAX_MESSAGE_BYTES), through one shared reply inbox; resolves once JetStream acknowledged
   * every message (rejects on an error or timeout: nothing is answered `accepted` then). A
   * message JetStream recognised as a re-send makes its events `duplicate`; the events of a
   * stored message are `duplicate` when `recent` has seen their key inside the window.
   */
  async publish(events: readonly EventRecord[]): Promise<PublishOutcome[]> {
    const acks = (this.acks ??= new AckInbox(this.nc));
    const limit = Math.min(MAX_MESSAGE_BYTES, Math.floor((this.nc.info?.max_payload ?? 1_048_576) / 2));
    const byPartition = new Map<number, number[]>();
    for (let i = 0; i < events.length; i++) {
      const p = this.partitioner.of(events[i]!.tenant, events[i]!.id);
      const list = byPartition.get(p);
      if (list) list.push(i);
      else byPartition.set(p, [i]);
    }
    const w = new RowBinaryWriter(events.length * 320 + 64);
    const chunks: Chunk[] = [];
    for (const [partition, members] of byPartition) {
      let chunk: Chunk | undefined;
      for (const i of members) {
        if (!chunk || chunk.members.length >= MAX_MESSAGE_EVENTS || w.length - chunk.start >= limit) {
          if (chunk) this.closeChunk(w, chunk);
          chunk = { partition, start: beginBatch(w), end: 0, members: [] };
          chunks.push(chunk);
        }
        writeEventColumns(w, events[i]!);
        writeReadings(w, events[i]!);
        chunk.members.push(i);
      }
      this.closeChunk(w, chunk!);
    }
    const buf = w.view();
    const stored = await acks.publishAll(
      chunks.map((c) => ({ subject: this.subject(c.partition), data: buf.subarray(c.start, c.end), msgId: messageId(events, c.members) })),
      PUBLISH_TIMEOUT_MS,
    );
    const out = new Array<PublishOutcome>(events.length).fill('duplicate');
    const fresh = new Map<number, number[]>();
    chunks.forEach((c, k) => {
      if (stored[k] !== 'accepted') return;
      const list = fresh.get(c.partition);
      if (list) list.push(...c.members);
      else fresh.set(c.partition, [...c.members]);
    });
    await Promise.all(
      [...fresh].map(async ([partition, members]) => {
        let first: boolean[] | undefined;
        try {
          first = await this.opts.recent?.record(partition, members.map((i) => eventKey(events[i]!.tenant, events[i]!.id)), members.length, this.opts.duplicateWindowMs);
        } catch {
          // The window is best effort: the events are durably in the log and the workers' dedupe counts them once.
        }
        members.forEach((i, j) => (out[i] = first && !first[j] ? 'duplicate' : 'accepted'));
      }),
    );
    return out;
  }

  private closeChunk(w: RowBinaryWriter, chunk: Chunk): void {
    chunk.end = w.length;
    endBatch(w, chunk.start, chunk.members.length);
  }

  /**
   * Re-creates the partition's durable consumer at `afterSeq + 1`: the committed watermark
   * in ClickHouse, not the consumer's own ack state, decides where reading resumes.
   */
  async open(partition: number, afterSeq: number): Promise<PartitionCursor> {
    const name = this.consumerName(partition);
    await this.jsm.consumers.delete(this.opts.stream, name).catch((err: Error) => {
      if (!/not found/i.test(err.message)) throw err;
    });
    await this.jsm.consumers.add(this.opts.stream, {
      durable_name: name,
      filter_subject: this.subject(partition),
      ack_policy: AckPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: MAX_UNACKED,
      ...(afterSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
    });
    // `add` of a durable that still exists (its delete failed) would silently resume at its old position.
    const info = await this.jsm.consumers.info(this.opts.stream, name);
    if (info.delivered.consumer_seq !== 0) throw new Error(`consumer ${name} was not re-created (it has delivered ${info.delivered.consumer_seq} messages)`);
    const consumer = await this.js.consumers.get(this.opts.stream, name);
    return consumeCursor(consumer, partition, MAX_UNACKED, this.opts.metersFor);
  }

  async lag(): Promise<PartitionLag[]> {
    const out: PartitionLag[] = [];
    for (let p = 0; p < this.partitions; p++) {
      try {
        const info = await this.jsm.consumers.info(this.opts.stream, this.consumerName(p));
        out.push({ partition: p, pending: info.num_pending + info.num_ack_pending });
      } catch {
        // No consumer yet (no worker has opened the partition): everything in it is pending.
        const info = await this.jsm.streams.info(this.opts.stream, { subjects_filter: this.subject(p) });
        out.push({ partition: p, pending: info.state.subjects?.[this.subject(p)] ?? 0 });
      }
    }
    return out;
  }

  async ping(): Promise<void> {
    if (this.nc.isClosed()) throw new Error('NATS connection closed');
    await this.nc.rtt();
  }

  /** Deletes the stream (tests use it on their own, uniquely named streams only). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.opts.stream);
  }

  async close(): Promise<void> {
    this.acks?.close();
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/**
 * The `Nats-Msg-Id` of a message: a hash of its events' keys (length-prefixed, so no two lists
 * collide), so the same request retried inside the window is stored once.
 */
function messageId(events: readonly EventRecord[], members: readonly number[]): string {
  let text = '';
  for (const i of members) {
    const e = events[i]!;
    text += `${e.tenant.length}:${e.tenant}${e.id.length}:${e.id}`;
  }
  return `b:${hash('sha256', text, 'base64url')}`;
}
