import type { CounterItem, CounterKey } from '../counters.ts';
import type { RedisQuotaCounters } from '../redis/redis-counters.ts';

interface Entry {
  key: CounterKey;
  /** Global usage at the last sync (without this node's pending). */
  base: bigint;
  /** This node's consumption not pushed to Redis yet. */
  pending: bigint;
  /** Syncs since the last consumption (idle entries are dropped). */
  idle: number;
}

/** Syncs an entry is kept without consumption on this node. */
const IDLE_SYNCS = 600;

const id = (k: CounterKey) => `${k.tenant}\u0000${k.meter}\u0000${k.period}`;

/**
 * The `local` mode: each node checks against its own view (global usage at the last sync + what
 * it admitted since) and pushes its consumption to Redis every `syncMs`, reading the global usage
 * back in the same script. A soft-limit mode: with N nodes, each can admit the whole remaining
 * allowance within one sync interval, so the overshoot is up to (N − 1) × what remained; it is
 * measured, not bounded. Keeps working while Redis is unreachable (it syncs when it returns).
 */
export class LocalSync {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly redis: RedisQuotaCounters) {}

  /** Unsynced consumption of `k` on this node. */
  pending(k: CounterKey): bigint {
    return this.entries.get(id(k))?.pending ?? 0n;
  }

  /** Loads the global usage of keys this node has not seen yet (a Redis round trip only then). */
  async ensure(keys: readonly CounterKey[]): Promise<void> {
    const missing = keys.filter((k) => !this.entries.has(id(k)));
    if (missing.length === 0) return;
    const usages = await this.redis.usages(missing);
    missing.forEach((k, i) => {
      if (!this.entries.has(id(k))) this.entries.set(id(k), { key: { tenant: k.tenant, meter: k.meter, period: k.period }, base: usages[i]!, pending: 0n, idle: 0 });
    });
  }

  /** Checks and records against the local view, all or nothing (synchronous). Call {@link ensure} first. */
  consume(items: readonly CounterItem[]): { recorded: boolean; usages: bigint[] } {
    const entries = items.map((it) => this.entries.get(id(it))!);
    const recorded = items.every((it, i) => !it.hard || entries[i]!.base + entries[i]!.pending + it.amount <= it.limit);
    if (recorded) items.forEach((it, i) => ((entries[i]!.pending += it.amount), (entries[i]!.idle = 0)));
    return { recorded, usages: entries.map((e) => e.base + e.pending) };
  }

  /** Takes back a local consumption (a later part of the same call was denied). */
  giveBack(items: readonly CounterItem[]): void {
    for (const it of items) {
      const e = this.entries.get(id(it));
      if (e !== undefined) e.pending -= it.amount;
    }
  }

  /** Pushes pending consumption and reads the global usage back; throws when Redis is unreachable. */
  async sync(): Promise<void> {
    const list = [...this.entries.values()];
    if (list.length === 0) return;
    const pushed = list.map((e) => e.pending);
    const totals = await this.redis.addAndRead(list.map((e, i) => ({ ...e.key, delta: pushed[i]! })));
    list.forEach((e, i) => {
      e.pending -= pushed[i]!;
      e.base = totals[i]!;
      if (++e.idle > IDLE_SYNCS && e.pending === 0n) this.entries.delete(id(e.key));
    });
  }

  /** Forgets everything (Redis lost the counters: the re-seed from the rollups counts what was pending). */
  reset(): void {
    this.entries.clear();
  }
}
