import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { canConnect } from '@tally/testkit';
import { KEY } from './distributed-helpers.ts';

/** What a burst of consumptions got. */
export interface Burst {
  granted: number;
  denied: number;
  /** Answers other than 200 / 429, by status and code (a test expects none). */
  other: Record<string, number>;
  /** `decidedBy` of the answers, counted by `by:mode|policy`. */
  decidedBy: Record<string, number>;
}

/**
 * Sends `total` consumptions of 1 call for `tenant` with `inflight` requests in flight, spread
 * round-robin over the API nodes, each with its own idempotency key.
 */
export async function burst(urls: string[], tenant: string, total: number, inflight: number, keyPrefix = tenant, meter = 'calls'): Promise<Burst> {
  const out: Burst = { granted: 0, denied: 0, other: {}, decidedBy: {} };
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      let res: Response;
      try {
        res = await fetch(`${urls[i % urls.length]}/v1/quota/consume`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tenant, meter, idempotencyKey: `${keyPrefix}-${i}`, data: { units: 1, shard: 's' } }),
        });
      } catch (err) {
        const cause = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
        out.other[`network ${cause}`] = (out.other[`network ${cause}`] ?? 0) + 1;
        continue;
      }
      const body = (await res.json()) as { decidedBy?: { by: string; mode?: string; policy?: string }; error?: { code: string; details?: { decidedBy?: { by: string; mode?: string; policy?: string } } } };
      const d = body.decidedBy ?? body.error?.details?.decidedBy;
      if (d) out.decidedBy[`${d.by}:${d.mode ?? d.policy}`] = (out.decidedBy[`${d.by}:${d.mode ?? d.policy}`] ?? 0) + 1;
      if (res.status === 200) out.granted++;
      else if (res.status === 429 && body.error?.code === 'QUOTA_EXCEEDED') out.denied++;
      else out.other[`${res.status} ${body.error?.code ?? ''}`] = (out.other[`${res.status} ${body.error?.code ?? ''}`] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return out;
}

/** A tenant's usage of an entitlement as one API node reads it (exact decimal string). */
export async function usageOn(url: string, tenant: string, meter = 'calls'): Promise<string> {
  const res = await fetch(`${url}/v1/tenants/${tenant}/entitlements/${meter}`, { headers: { authorization: `Bearer ${KEY}` } });
  if (res.status !== 200) throw new Error(`entitlement of ${tenant} via ${url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { usage: string }).usage;
}

/**
 * A private redis-server on its own port (no persistence: a restart comes back empty, as a lost
 * Redis does), for tests that stop Redis; the shared one on 6379 is never stopped.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until it answers PING. */
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      if (await canConnect('127.0.0.1', this.port, 100)) return;
      if (this.child.exitCode !== null) throw new Error(`redis-server exited with ${this.child.exitCode}`);
      await sleep(50);
    }
    throw new Error('the private redis-server did not start');
  }

  /** Stops the server (SIGKILL: an abrupt loss) and waits until it is gone. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }
}
