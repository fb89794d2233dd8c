import type { Clock } from '../../shared/time.ts';
import { MICROS_PER_MS } from '../../shared/time.ts';
import { periodOfItem, type ConsumeOutcome, type CounterItem, type CounterKey, type DecidedBy, type FailurePolicyName, type QuotaCounters } from '../counters.ts';
import type { RedisQuotaCounters } from '../redis/redis-counters.ts';
import { LeaseBook } from './lease-book.ts';
import { LocalSync } from './local-sync.ts';
import { Outage } from './outage.ts';

/** Tuning of {@link DistributedQuotaCounters} (config `quotas`). */
export interface DistributedQuotaOptions {
  /** `local` mode: how often a node pushes its consumption and reads the global usage. */
  syncMs: number;
  /** `leased` mode: how long a lease lives before its unspent units go back. */
  leaseMs: number;
  /** `leased` mode: share of the limit leased per refill (per mille, at least one unit). */
  leaseChunkPermille: number;
  /** `open-then-closed`: how long an outage is admitted. */
  failOpenMs: number;
}

const key = (k: CounterKey): CounterKey => ({ tenant: k.tenant, meter: k.meter, period: k.period });
const id = (k: CounterKey) => `${k.tenant}\u0000${k.meter}\u0000${k.period}`;
const ONE_UNIT = 1_000_000_000_000n;

/**
 * The distributed profile's {@link QuotaCounters}: each item goes the way its entitlement's mode
 * says — `central` (one Redis script per check, exact), `leased` ({@link LeaseBook}) or `local`
 * ({@link LocalSync}); soft items of a leased entitlement are counted the local way (they never
 * block). Parts of one call in different modes are taken in turn and given back if a later part
 * denies. When Redis cannot answer, each item's failure policy decides and the answer says so;
 * nothing throws into the caller. Feed updates that fail are kept and pushed when Redis returns.
 */
export class DistributedQuotaCounters implements QuotaCounters {
  readonly outage: Outage;
  private readonly leases: LeaseBook;
  private readonly local: LocalSync;
  private readonly lastKnown = new Map<string, bigint>();
  private unsent = new Map<string, CounterKey & { delta: bigint }>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Called when a call succeeds after an outage (checks whether Redis lost the counters). */
  onRecovered: (() => Promise<void>) | undefined;
  /**
   * True while Redis still holds the counters this node pushed to (the epoch it knows). After a
   * failure, pushes (feed kept during the outage, local pending, lease returns) wait for it: into a
   * Redis that came back empty they would count events the re-seed from the rollups counts too.
   */
  sameEpoch: (() => Promise<boolean>) | undefined;
  private suspect = false;

  constructor(
    readonly redis: RedisQuotaCounters,
    private readonly clock: Clock,
    private readonly o: DistributedQuotaOptions,
  ) {
    const nowMs = () => Math.floor(clock.nowMicros() / MICROS_PER_MS);
    this.outage = new Outage(nowMs, o.failOpenMs);
    this.leases = new LeaseBook(redis, nowMs, o.leaseMs, (limit) => {
      const c = (limit * BigInt(o.leaseChunkPermille)) / 1000n;
      return c < ONE_UNIT ? ONE_UNIT : c;
    });
    this.local = new LocalSync(redis);
    // Every Redis call reports to the outage clock; the call that ends an outage checks for a data loss.
    redis.observer = { ok: () => void (this.outage.ok() && this.recovered()), fail: () => ((this.suspect = true), this.outage.fail()) };
    const quietly = (p: Promise<unknown>) => void p.catch(() => undefined);
    this.timers.push(
      setInterval(() => quietly(this.pushing(() => this.local.sync())), o.syncMs).unref(),
      setInterval(() => quietly(this.pushing(() => this.leases.sweep())), Math.max(10, Math.floor(o.leaseMs / 2))).unref(),
      setInterval(() => quietly(this.pushing(() => this.flushUnsent())), 250).unref(),
    );
  }


  /** Runs a push unless Redis lost the counters since the last failure (then drops what was pending). */
  private async pushing(fn: () => Promise<void>): Promise<void> {
    if (this.suspect && this.sameEpoch) {
      const same = await this.sameEpoch();
      this.suspect = false;
      if (!same) {
        this.resetAfterReseed();
        return;
      }
    }
    await fn();
  }

  private async recovered(): Promise<void> {
    try {
      await this.onRecovered?.();
    } catch {
      /* tried again at the next recovery; the counters keep working meanwhile */
    }
  }

  /** Returns the unspent units of lapsed leases now (also done every leaseMs / 2). */
  sweepLeases(): Promise<void> {
    return this.leases.sweep();
  }

  /** Forgets what this node holds from before a re-seed (leases, synced views, unsent feed). */
  resetAfterReseed(): void {
    this.leases.clear();
    this.local.reset();
    this.unsent.clear();
  }

  async usages(keys: readonly CounterKey[]): Promise<bigint[]> {
    let global: bigint[];
    try {
      global = await this.redis.usages(keys);
      keys.forEach((k, i) => this.lastKnown.set(id(k), global[i]!));
    } catch {
      global = keys.map((k) => this.lastKnown.get(id(k)) ?? 0n);
    }
    // What this node has admitted but not pushed, minus units it leased and has not spent.
    return keys.map((k, i) => global[i]! + this.local.pending(k) - this.leases.held(k));
  }

  async set(k: CounterKey, usage: bigint): Promise<void> {
    await this.redis.set(k, usage);
  }

  async raise(k: CounterKey, usage: bigint): Promise<void> {
    await this.redis.raise(k, usage);
  }

  async add(deltas: readonly (CounterKey & { delta: bigint })[]): Promise<void> {
    try {
      await this.redis.add(deltas);
    } catch {
      this.keep(deltas);
    }
  }

  private keep(deltas: readonly (CounterKey & { delta: bigint })[]): void {
    for (const d of deltas) {
      const cur = this.unsent.get(id(d));
      this.unsent.set(id(d), { ...key(d), delta: (cur?.delta ?? 0n) + d.delta });
    }
  }

  private async flushUnsent(): Promise<void> {
    if (this.unsent.size === 0) return;
    const list = [...this.unsent.values()];
    this.unsent = new Map();
    try {
      await this.redis.add(list);
    } catch {
      this.keep(list);
    }
  }

  async consumeAll(items: readonly CounterItem[]): Promise<ConsumeOutcome> {
    const now = this.clock.nowMicros();
    const atNow = items.map((it) => ({ ...it, period: periodOfItem(it, now) }));
    const idx = { central: [] as number[], leased: [] as number[], local: [] as number[] };
    atNow.forEach((it, i) => idx[it.mode === 'leased' ? (it.hard ? 'leased' : 'local') : (it.mode ?? 'central')].push(i));
    const pick = (list: number[]) => list.map((i) => atNow[i]!);
    const usages: bigint[] = new Array<bigint>(items.length).fill(0n);
    const periods = atNow.map((it) => it.period);
    const mode = idx.central.length > 0 ? 'central' : idx.leased.length > 0 ? 'leased' : 'local';
    const done = (recorded: boolean): ConsumeOutcome => ({ recorded, usages, periods, decidedBy: { by: 'counters', mode } });
    const taken: (() => void)[] = [];
    const undo = () => taken.reverse().forEach((f) => f());
    try {
      if (idx.leased.length > 0) {
        const part = pick(idx.leased);
        const r = await this.leases.consume(part);
        idx.leased.forEach((i, j) => (usages[i] = r.usages[j]!));
        if (!r.recorded) return done(false);
        taken.push(() => this.leases.giveBack(part));
      }
      if (idx.local.length > 0) {
        const part = pick(idx.local);
        await this.local.ensure(part);
        const r = this.local.consume(part);
        idx.local.forEach((i, j) => (usages[i] = r.usages[j]!));
        if (!r.recorded) {
          undo();
          return done(false);
        }
        taken.push(() => this.local.giveBack(part));
      }
      if (idx.central.length > 0) {
        const part = idx.central.map((i) => items[i]!);
        const r = await this.redis.consumeAll(part);
        idx.central.forEach((i, j) => ((usages[i] = r.usages[j]!), (periods[i] = r.periods[j]!), this.lastKnown.set(id({ ...items[i]!, period: r.periods[j]! }), r.usages[j]!)));
        if (!r.recorded) {
          undo();
          return done(false);
        }
      }
      return done(true);
    } catch (err) {
      undo();
      return this.degraded(items, periods, err as Error);
    }
  }

  /** The answer while Redis cannot give one: every item's failure policy must admit. */
  private degraded(items: readonly CounterItem[], periods: number[], err: Error): ConsumeOutcome {
    const policies = items.map((it): FailurePolicyName => it.failurePolicy ?? 'closed');
    const denying = policies.find((p) => !this.outage.admits(p));
    const decidedBy: DecidedBy = { by: 'failure-policy', policy: denying ?? policies[0] ?? 'closed', cause: err.message };
    const usages = items.map((it, i) => this.lastKnown.get(id({ ...it, period: periods[i]! })) ?? 0n);
    return { recorded: denying === undefined, usages, periods, decidedBy };
  }

  async forget(k: CounterKey): Promise<void> {
    this.lastKnown.delete(id(k));
    await this.redis.forget(k);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([this.local.sync(), this.leases.sweep(), this.flushUnsent()]);
  }
}
