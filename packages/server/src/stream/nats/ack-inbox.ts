import { createInbox, headers, type NatsConnection, type Subscription } from 'nats';
import type { PublishOutcome } from '../port.ts';

/** One message to publish to JetStream. */
export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  msgId: string;
}

/** The messages of one `publishAll` call: ids `first … first + outcomes.length − 1`. */
interface Group {
  first: number;
  outcomes: (PublishOutcome | undefined)[];
  left: number;
  resolve: (o: PublishOutcome[]) => void;
  reject: (err: Error) => void;
}

const dec = new TextDecoder();

/**
 * JetStream publishing through one wildcard reply subscription: message `n` is published with
 * reply `<inbox>.<n>`, and the PubAck (`{stream, seq, duplicate?}` or `{error}`) that JetStream
 * sends there settles it. Cheaper than a request (timer, inbox, promise) per message: one
 * promise and one timer per call, however many messages it publishes.
 */
export class AckInbox {
  private readonly prefix = createInbox();
  /** Calls in flight (few: one per concurrent request), searched by id range. */
  private readonly groups = new Set<Group>();
  private readonly sub: Subscription;
  private next = 0;

  constructor(private readonly nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.prefix}.*`, {
      callback: (err, m) => {
        if (err) return;
        const id = Number(m.subject.slice(this.prefix.length + 1));
        let g: Group | undefined;
        for (const c of this.groups) if (id >= c.first && id < c.first + c.outcomes.length) g = c;
        if (!g || g.outcomes[id - g.first] !== undefined) return;
        const outcome = readAck(m.data);
        if (outcome instanceof Error) {
          // A status message (e.g. 503 no responders) or an error: JetStream did not store it.
          this.groups.delete(g);
          g.reject(m.headers?.code ? new Error(`JetStream did not acknowledge (${m.headers.code})`) : outcome);
          return;
        }
        g.outcomes[id - g.first] = outcome;
        if (--g.left === 0) {
          this.groups.delete(g);
          g.resolve(g.outcomes as PublishOutcome[]);
        }
      },
    });
  }

  /** Publishes every message; resolves with their outcomes in order, or rejects (the caller retries the request). */
  publishAll(messages: readonly OutgoingMessage[], timeoutMs: number): Promise<PublishOutcome[]> {
    if (messages.length === 0) return Promise.resolve([]);
    const first = this.next;
    this.next += messages.length;
    return new Promise<PublishOutcome[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const g: Group = {
        first,
        outcomes: new Array<PublishOutcome | undefined>(messages.length),
        left: messages.length,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.groups.add(g);
      timer = setTimeout(() => {
        this.groups.delete(g);
        reject(new Error(`JetStream did not acknowledge within ${timeoutMs} ms`));
      }, timeoutMs);
      for (let i = 0; i < messages.length; i++) {
        const msg = messages[i]!;
        const h = headers();
        h.set('Nats-Msg-Id', msg.msgId);
        this.nc.publish(msg.subject, msg.data, { reply: `${this.prefix}.${first + i}`, headers: h });
      }
    });
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/** A PubAck's outcome, or the error it reports. */
function readAck(data: Uint8Array): PublishOutcome | Error {
  try {
    const ack = JSON.parse(dec.decode(data)) as { seq?: number; duplicate?: boolean; error?: { description?: string } };
    if (ack.error || ack.seq === undefined) return new Error(`JetStream refused the event: ${ack.error?.description ?? 'no sequence in the ack'}`);
    return ack.duplicate ? 'duplicate' : 'accepted';
  } catch {
    return new Error('JetStream did not acknowledge (unreadable ack)');
  }
}
