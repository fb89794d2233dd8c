import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, with what verification said. */
export interface Received {
  id: string;
  timestamp: string;
  verified: boolean;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> } | null;
  answered: number;
}

/**
 * A real HTTP webhook receiver for tests: verifies every request with the `standardwebhooks`
 * package against the endpoint's secret (set once known), answers `status` (500 while
 * "failing"), and records every request, verified or not.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** What the receiver answers (set to 500 to simulate an outage). */
  status = 200;
  secret: string | undefined;
  private server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = { 'webhook-id': String(req.headers['webhook-id'] ?? ''), 'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''), 'webhook-signature': String(req.headers['webhook-signature'] ?? '') };
        let payload: Received['payload'] = null;
        let verified = false;
        try {
          payload = new Webhook(this.secret!).verify(body, headers) as Received['payload'];
          verified = true;
        } catch {
          /* recorded as unverified */
        }
        const answered = verified ? this.status : 400;
        this.received.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], verified, body, payload, answered });
        res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'receiver failing');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Requests answered 2xx (delivered), by webhook-id. */
  delivered(): Map<string, Received> {
    return new Map(this.received.filter((r) => r.answered === 200).map((r) => [r.id, r]));
  }

  /** Delivered alert notifications of a type (`alert.firing`…). */
  ofType(type: string): Received[] {
    return [...this.delivered().values()].filter((r) => r.payload?.type === type);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/** Polls `fn` until it returns a truthy value (at most `ms`), then returns it; throws with `what` if it never does. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, ms = 30_000): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
