import type { CounterItem, CounterKey } from '../counters.ts';
import type { RedisQuotaCounters } from '../redis/redis-counters.ts';

interface Lease {
  key: CounterKey;
  /** Units leased and not spent yet (scaled). */
  tokens: bigint;
  /** Global usage after the last grant (includes every node's outstanding leases). */
  usage: bigint;
  expiresAt: number;
}

const id = (k: CounterKey) => `${k.tenant}\u0000${k.meter}\u0000${k.period}`;

/**
 * The `leased` mode: each node leases chunks of a hard entitlement's remaining allowance from
 * Redis (counted there as used when granted, so all nodes' leases together never pass the
 * limit) and spends them in process without a round trip. Unspent units go back when the lease
 * expires. Bounds, with N nodes and chunk C: consumptions never pass the limit; up to N × C units
 * can sit unspent in leases for at most `leaseMs` (a denial while another node still holds units).
 */
export class LeaseBook {
  private readonly leases = new Map<string, Lease>();
  private readonly refills = new Map<string, Promise<Set<string>>>();
  /** Expired leases whose unspent units could not be returned yet (Redis unreachable). */
  private returning: Lease[] = [];

  constructor(
    private readonly redis: RedisQuotaCounters,
    private readonly nowMs: () => number,
    private readonly leaseMs: number,
    private readonly chunkOf: (limit: bigint) => bigint,
  ) {}

  /** Unspent units this node holds for `k` (0 without a lease). */
  held(k: CounterKey): bigint {
    return this.leases.get(id(k))?.tokens ?? 0n;
  }

  /**
   * Spends every item from the leases, all or nothing, refilling short ones from Redis first.
   * Answers the usage estimate after the call (global usage at the last grant − units unspent here).
   */
  async consume(items: readonly CounterItem[]): Promise<{ recorded: boolean; usages: bigint[] }> {
    let exhausted = new Set<string>();
    for (;;) {
      const now = this.nowMs();
      const live = items.map((it) => {
        const l = this.leases.get(id(it));
        return l !== undefined && l.expiresAt > now ? l : undefined;
      });
      const short = items.filter((it, i) => (live[i]?.tokens ?? 0n) < it.amount);
      if (short.length === 0) {
        // Synchronous from the check to the spend: no other consumption interleaves.
        return { recorded: true, usages: items.map((it, i) => ((live[i]!.tokens -= it.amount), live[i]!.usage - live[i]!.tokens)) };
      }
      // Denied only once Redis has nothing left to lease for an item that is still short.
      if (short.some((it) => exhausted.has(id(it)))) return { recorded: false, usages: items.map((it, i) => (live[i] ? live[i].usage - live[i].tokens : 0n)) };
      exhausted = await this.refill(short);
    }
  }

  /** Gives units back to a lease (a consumption that failed after spending them). */
  giveBack(items: readonly CounterItem[]): void {
    for (const it of items) {
      const l = this.leases.get(id(it));
      if (l !== undefined) l.tokens += it.amount;
    }
  }

  /**
   * Leases more for the short items; answers the keys Redis had nothing left for. One refill in
   * flight per tenant: callers short at the same time share it (and look again afterwards).
   */
  private async refill(short: readonly CounterItem[]): Promise<Set<string>> {
    const tenant = short[0]!.tenant;
    const running = this.refills.get(tenant);
    if (running) return running;
    const p = (async () => {
      const exhausted = new Set<string>();
      const now = this.nowMs();
      const want = short.map((it) => {
        const held = this.leases.get(id(it));
        const have = held !== undefined && held.expiresAt > now ? held.tokens : 0n;
        const c = this.chunkOf(it.limit);
        return { key: { tenant: it.tenant, meter: it.meter, period: it.period }, limit: it.limit, want: it.amount - have > c ? it.amount - have : c };
      });
      const grants = await this.redis.lease(want);
      grants.forEach((g, i) => {
        const k = want[i]!.key;
        if (g.granted === 0n) exhausted.add(id(k));
        const held = this.leases.get(id(k));
        if (held !== undefined && held.expiresAt > now) {
          held.tokens += g.granted;
          held.usage = g.usage;
          held.expiresAt = now + this.leaseMs;
        } else {
          if (held !== undefined && held.tokens > 0n) this.giveBackToRedis([held]).catch(() => undefined);
          this.leases.set(id(k), { key: k, tokens: g.granted, usage: g.usage, expiresAt: now + this.leaseMs });
        }
      });
      return exhausted;
    })().finally(() => this.refills.delete(tenant));
    this.refills.set(tenant, p);
    return p;
  }

  /** Returns the unspent units of expired leases to Redis. */
  async sweep(): Promise<void> {
    const now = this.nowMs();
    const expired = [...this.leases.values()].filter((l) => l.expiresAt <= now);
    for (const l of expired) this.leases.delete(id(l.key));
    const back = [...this.returning, ...expired.filter((l) => l.tokens > 0n)];
    this.returning = [];
    await this.giveBackToRedis(back);
  }

  /** Forgets every lease (the counters were re-seeded: what they had granted is gone). */
  clear(): void {
    this.leases.clear();
    this.returning = [];
  }

  private async giveBackToRedis(leases: Lease[]): Promise<void> {
    if (leases.length === 0) return;
    try {
      await this.redis.add(leases.map((l) => ({ ...l.key, delta: -l.tokens })));
    } catch (err) {
      // Redis unreachable: returned on a later sweep (expired units are never spent).
      this.returning.push(...leases);
      throw err;
    }
  }
}
