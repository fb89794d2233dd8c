import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then return 0 end
end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1`;

const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1`;

/**
 * Exclusive ownership of stream partitions (one writer per partition is what makes the
 * dedupe lookup race-free). Held with a TTL and renewed; a killed owner's leases lapse after
 * `ttlMs`, then its restart (or a replacement with the same assignment) takes them.
 */
export class PartitionLease {
  readonly token = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  private renewedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly partitions: readonly number[],
    private readonly ttlMs = 6_000,
  ) {}

  private keys(): string[] {
    return this.partitions.map((p) => `${this.prefix}:lease:p${p}`);
  }

  /** Waits until every partition's lease is ours, then renews them every ttl/3. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const pending = new Set(this.keys());
    while (pending.size > 0) {
      if (signal?.aborted) throw new Error('aborted');
      for (const k of [...pending]) if ((await this.redis.set(k, this.token, 'PX', this.ttlMs, 'NX')) === 'OK') pending.delete(k);
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
    }
    this.renewedAt = Date.now();
    this.timer = setInterval(() => {
      this.redis.eval(RENEW, this.keys().length, ...this.keys(), this.token, String(this.ttlMs)).then(
        (ok) => {
          if (ok !== 1) this.lost = true;
          else this.renewedAt = Date.now();
        },
        () => undefined,
      );
    }, Math.floor(this.ttlMs / 3));
  }

  /** True while no renewal found another owner and the last renewal is recent enough to still hold. */
  get held(): boolean {
    return !this.lost && this.timer !== undefined && Date.now() - this.renewedAt < this.ttlMs * 0.8;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.eval(RELEASE, this.keys().length, ...this.keys(), this.token).catch(() => undefined);
  }
}
