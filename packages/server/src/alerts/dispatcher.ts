import { randomUUID } from 'node:crypto';
import type { LeaseStore } from '../jobs/lease-store.ts';
import { MICROS_PER_MS, type Clock } from '../shared/time.ts';
import { retryDelayMs, type RetryPolicy } from './backoff.ts';
import type { Message } from './delivery.ts';
import { activeSecrets } from './endpoint.ts';
import { randomId, type AlertRepos } from './repos.ts';
import { postWebhook } from './webhook/sender.ts';
import { signatureHeaders } from './webhook/signing.ts';

/** Settings of the dispatcher (config `alerts.delivery`). */
export interface DispatcherOptions extends RetryPolicy {
  pollMs: number;
  timeoutMs: number;
  /** Messages sent at once. */
  concurrency: number;
}

const LEASE = 'alerts-dispatch';

/**
 * Delivers the persisted outbox: due pending messages, oldest first, signed per attempt (Standard
 * Webhooks; the `webhook-id` is the message id on every attempt), each attempt logged with its
 * status and latency; failures are retried with backoff and jitter until the budget is spent,
 * then the message is dead-lettered. One node dispatches at a time (a lease with a fencing
 * token, checked before each result is written); a crash after a send and before its result is
 * written sends again under the same id (at-least-once).
 */
export class Dispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly repos: AlertRepos,
    private readonly leases: LeaseStore,
    private readonly clock: Clock,
    private readonly opts: DispatcherOptions,
  ) {}

  /** Polls every `pollMs` from now on. */
  start(): void {
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.kick();
  }

  /** Dispatches now (after the pass in progress, if any). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** One pass over the due messages; resolves when they were all tried. */
  async pass(): Promise<number> {
    const holder = randomUUID();
    const fence = await this.leases.acquire(LEASE, holder, 30_000);
    if (fence === null) return 0;
    let sent = 0;
    try {
      for (;;) {
        const due = await this.repos.messages({ status: 'pending', to: this.clock.nowMicros(), order: 'asc', limit: 100 });
        if (due.length === 0) break;
        for (let i = 0; i < due.length; i += this.opts.concurrency) {
          await Promise.all(due.slice(i, i + this.opts.concurrency).map((m) => this.deliver(m, fence)));
          if (this.stopped || !(await this.leases.renew(LEASE, holder, fence, 30_000))) return sent;
        }
        sent += due.length;
        if (due.length < 100) break;
      }
    } finally {
      await this.leases.release(LEASE, holder, fence).catch(() => undefined);
    }
    return sent;
  }

  private async deliver(m: Message, fence: number): Promise<void> {
    const endpoint = await this.repos.endpoint(m.endpoint);
    const now = this.clock.nowMicros();
    if (!endpoint || !endpoint.enabled) {
      await this.repos.saveMessage({ ...m, state: 'dead', lastError: endpoint ? 'endpoint disabled' : 'endpoint deleted' });
      return;
    }
    // Signed at the wall-clock time of the attempt (receivers check it against theirs), not the injected clock.
    const headers = signatureHeaders(m.id, m.payload, activeSecrets(endpoint, now), new Date());
    const r = await postWebhook(endpoint.url, headers, m.payload, this.opts.timeoutMs);
    // A node that lost the lease while sending writes nothing: the holder retries with the same id.
    if (!(await this.leases.isCurrent(LEASE, fence))) return;
    const attempt = m.attempts + 1;
    await this.repos.saveAttempt({ id: randomId('att'), message: m.id, endpoint: m.endpoint, attempt, at: now, status: r.status, latencyMs: r.latencyMs, ok: r.ok, error: r.error });
    const after = this.clock.nowMicros();
    if (r.ok) await this.repos.saveMessage({ ...m, state: 'delivered', attempts: attempt, deliveredAt: after, lastError: null });
    else if (attempt - (m.budgetFrom ?? 0) >= this.opts.maxAttempts) await this.repos.saveMessage({ ...m, state: 'dead', attempts: attempt, lastError: r.error });
    else await this.repos.saveMessage({ ...m, attempts: attempt, lastError: r.error, nextAttemptAt: after + retryDelayMs(attempt - (m.budgetFrom ?? 0), this.opts) * MICROS_PER_MS });
  }

  /** Stops polling and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
