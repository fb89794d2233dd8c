import type { Consumer, JsMsg } from 'nats';
import { decodePayload, eventCount, type MetersFor } from '../payload.ts';
import type { LogEntry, PartitionCursor } from '../port.ts';

/** After the first entry of a batch, how long to keep filling it before returning. */
const FILL_MS = 500;
/** A batch of at least a fifth of its maximum returns early when no message came for this long (a burst ended). */
const IDLE_MS = 100;

/** A consumer delivery went missing: the cursor must be re-opened at the committed watermark. */
export class DeliveryGapError extends Error {
  constructor(partition: number, expected: number, got: number) {
    super(`partition ${partition}: delivery ${expected} was not received (got ${got}); re-opening at the watermark`);
    this.name = 'DeliveryGapError';
  }
}

/**
 * A cursor over a partition's (freshly created) durable pull consumer: entries in log order,
 * in batches of whole messages, acknowledged all at once (AckPolicy.All) after their commit.
 */
export async function consumeCursor(consumer: Consumer, partition: number, maxUnacked: number, metersFor: MetersFor | undefined): Promise<PartitionCursor> {
  // Messages land in `buffer` from consume()'s callback (no promise per message); `next`
  // drains it. consume() keeps pulling in the background; fetch() would drop messages still
  // buffered when its expiry timer fires under load. The server bounds what is delivered and
  // not yet acknowledged (`maxUnacked`).
  let buffer: JsMsg[] = [];
  let head = 0;
  let bufferedEvents = 0;
  let waiter: { events: number; wake: () => void } | undefined;
  let stopped = false;
  const messages = await consumer.consume({
    max_messages: maxUnacked,
    expires: 10_000,
    callback: (m) => {
      buffer.push(m);
      bufferedEvents += eventCount(m.data);
      if (waiter && bufferedEvents >= waiter.events) waiter.wake();
    },
  });
  const stop = () => {
    stopped = true;
    waiter?.wake();
  };
  void messages.closed().then(stop, stop);
  /** Waits until `events` events are buffered, at most `ms`. */
  const waitFor = (events: number, ms: number) =>
    bufferedEvents >= events || stopped || ms <= 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            waiter = undefined;
            resolve();
          }, ms);
          waiter = {
            events,
            wake: () => {
              clearTimeout(timer);
              waiter = undefined;
              resolve();
            },
          };
        });
  let last: JsMsg | undefined;
  let delivered = 0;
  return {
    next: async (max, waitMs) => {
      // Wait for the first entry, then keep filling for up to FILL_MS (fewer, larger inserts), up to `max`.
      await waitFor(1, waitMs);
      if (buffer.length > head) {
        const until = Date.now() + FILL_MS;
        for (let before = -1; bufferedEvents < max && Date.now() < until; ) {
          if (bufferedEvents === before && bufferedEvents * 5 >= max) break;
          before = bufferedEvents;
          await waitFor(max, Math.min(IDLE_MS, until - Date.now()));
        }
      }
      if (buffer.length === head && stopped) throw new Error(`partition ${partition}: the consumer stopped`);
      const out: LogEntry[] = [];
      // Whole messages (their events share a sequence), until `max` events.
      while (head < buffer.length && (out.length === 0 || out.length + eventCount(buffer[head]!.data) <= max)) {
        const m = buffer[head++]!;
        bufferedEvents -= eventCount(m.data);
        // A delivery the client never saw would be skipped forever once a later sequence is
        // committed: refuse to go on past a gap (the caller re-opens at the watermark).
        const info = m.info;
        if (info.deliverySequence !== delivered + 1) throw new DeliveryGapError(partition, delivered + 1, info.deliverySequence);
        delivered = info.deliverySequence;
        last = m;
        for (const record of decodePayload(m.data, metersFor)) out.push({ seq: info.streamSequence, record });
      }
      if (head === buffer.length) {
        buffer = [];
        head = 0;
      } else if (head > 4096) {
        buffer = buffer.slice(head);
        head = 0;
      }
      return out;
    },
    // AckPolicy.All: acknowledging the newest message acknowledges everything before it.
    commit: () => last?.ack(),
    keepAlive: () => last?.working(),
    backlog: () => (last ? last.info.pending : 0) + buffer.length - head,
    close: async () => {
      await messages.close().catch(() => undefined);
    },
  };
}
