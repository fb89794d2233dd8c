import { createInbox, headers, type NatsConnection, type Subscription } from 'nats';
import type { PublishOutcome } from '../port.ts';

/** One message to publish to JetStream. */
export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  msgId: string;
}

interface Waiter {
  resolve: (o: PublishOutcome) => void;
  reject: (err: Error) => void;
}

const dec = new TextDecoder();

/**
 * JetStream publishing through one wildcard reply subscription: message `n` is published with
 * reply `<inbox>.<n>`, and the PubAck (`{stream, seq, duplicate?}` or `{error}`) that JetStream
 * sends there settles it. Cheaper than a request (timer, inbox, promise) per message.
 */
export class AckInbox {
  private readonly prefix = createInbox();
  private readonly waiting = new Map<number, Waiter>();
  private readonly sub: Subscription;
  private next = 0;

  constructor(private readonly nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.prefix}.*`, {
      callback: (err, m) => {
        if (err) return;
        const id = Number(m.subject.slice(this.prefix.length + 1));
        const w = this.waiting.get(id);
        if (!w) return;
        this.waiting.delete(id);
        try {
          const ack = JSON.parse(dec.decode(m.data)) as { seq?: number; duplicate?: boolean; error?: { description?: string } };
          if (ack.error || ack.seq === undefined) w.reject(new Error(`JetStream refused the event: ${ack.error?.description ?? 'no sequence in the ack'}`));
          else w.resolve(ack.duplicate ? 'duplicate' : 'accepted');
        } catch {
          // A status message (e.g. 503 no responders): JetStream did not store it.
          w.reject(new Error(`JetStream did not acknowledge (${m.headers?.code ?? 'unreadable ack'})`));
        }
      },
    });
  }

  /** Publishes every message; resolves with their outcomes in order, or rejects (the caller retries the request). */
  publishAll(messages: readonly OutgoingMessage[], timeoutMs: number): Promise<PublishOutcome[]> {
    const ids: number[] = [];
    const all = Promise.all(
      messages.map(
        (msg) =>
          new Promise<PublishOutcome>((resolve, reject) => {
            const id = this.next++;
            ids.push(id);
            this.waiting.set(id, { resolve, reject });
            const h = headers();
            h.set('Nats-Msg-Id', msg.msgId);
            this.nc.publish(msg.subject, msg.data, { reply: `${this.prefix}.${id}`, headers: h });
          }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`JetStream did not acknowledge within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([all, timeout]).finally(() => {
      clearTimeout(timer);
      for (const id of ids) this.waiting.delete(id);
    });
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
