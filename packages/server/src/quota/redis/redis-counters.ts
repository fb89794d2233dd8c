import type { Redis } from 'ioredis';
import { SCALE } from '../../shared/decimal.ts';
import { MICROS_PER_MS, type EpochMicros } from '../../shared/time.ts';
import type { ConsumeOutcome, CounterItem, CounterKey, QuotaCounters } from '../counters.ts';
import { ADD_LUA, CONSUME_LUA, LEASE_LUA, SET_LUA } from './lua.ts';

/** Keys outlive the longest period (a month) by a few days, so nothing needs deleting. */
const TTL_MS = 40 * 86_400_000;

/** Splits a scaled value into whole units and a non-negative fraction (floor division). */
export function split(v: bigint): [string, string] {
  let hi = v / SCALE;
  let lo = v - hi * SCALE;
  if (lo < 0n) {
    hi -= 1n;
    lo += SCALE;
  }
  return [String(hi), String(lo)];
}

function join(hi: string | number, lo: string | number): bigint {
  return BigInt(hi) * SCALE + BigInt(lo);
}

type Script = 'consume' | 'add' | 'set' | 'lease';
const SOURCES: Record<Script, string> = { consume: CONSUME_LUA, add: ADD_LUA, set: SET_LUA, lease: LEASE_LUA };

/** Options of {@link RedisQuotaCounters}. */
export interface RedisQuotaCountersOptions {
  /** Key prefix (e.g. `tally:q`). */
  prefix: string;
  /** Test clock in ms deciding period boundaries instead of Redis server `TIME`. */
  now?: () => number;
}

/**
 * {@link QuotaCounters} in Redis: one Lua script per call (EVALSHA, loaded on first use), exact
 * bigint usage as `{hi, lo}` hashes, and every key of a tenant under the tenant's hash tag, so
 * a multi-entitlement consumption is one atomic script even on Redis Cluster. Redis server time
 * decides when an item's next period has begun.
 */
export class RedisQuotaCounters implements QuotaCounters {
  private readonly shas = new Map<Script, string>();
  /** Told about every Redis call's outcome (the failure policies' outage clock). */
  observer: { ok(): void; fail(): void } | undefined;

  constructor(
    readonly redis: Redis,
    private readonly o: RedisQuotaCountersOptions,
  ) {}

  /** The key of one counter (tenant hash-tagged). */
  key(k: CounterKey): string {
    return `${this.o.prefix}:{${k.tenant}}:${k.meter}:${k.period}`;
  }

  private async observed<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.observer?.ok();
      return r;
    } catch (err) {
      this.observer?.fail();
      throw err;
    }
  }

  private run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    return this.observed(() => this.runScript(script, keys, args));
  }

  private async runScript(script: Script, keys: string[], args: string[]): Promise<unknown> {
    let sha = this.shas.get(script);
    if (sha === undefined) {
      sha = (await this.redis.script('LOAD', SOURCES[script])) as string;
      this.shas.set(script, sha);
    }
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      // A restarted (empty) Redis has forgotten the script: load it again once.
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      this.shas.delete(script);
      return this.runScript(script, keys, args);
    }
  }

  private nowArg(): string {
    return this.o.now ? String(this.o.now()) : '';
  }

  async usages(keys: readonly CounterKey[]): Promise<bigint[]> {
    if (keys.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const k of keys) pipe.hmget(this.key(k), 'hi', 'lo');
    // A pipeline resolves with per-command errors: they count as a failed call.
    return this.observed(async () =>
      ((await pipe.exec()) ?? []).map(([err, v]) => {
        if (err) throw err;
        const [hi, lo] = v as [string | null, string | null];
        return join(hi ?? 0, lo ?? 0);
      }),
    );
  }

  async set(k: CounterKey, usage: bigint): Promise<void> {
    await this.run('set', [this.key(k)], [...split(usage), String(TTL_MS), 'set']);
  }

  async raise(k: CounterKey, usage: bigint): Promise<void> {
    await this.run('set', [this.key(k)], [...split(usage), String(TTL_MS), 'max']);
  }

  async add(deltas: readonly (CounterKey & { delta: bigint })[]): Promise<void> {
    await this.addAndRead(deltas.filter((d) => d.delta !== 0n));
  }

  /** Adds signed deltas (0 only reads) and answers each key's usage after it, in order. */
  async addAndRead(deltas: readonly (CounterKey & { delta: bigint })[]): Promise<bigint[]> {
    // One script per tenant: a tenant's keys share a hash slot, different tenants may not.
    const byTenant = new Map<string, number[]>();
    deltas.forEach((d, i) => byTenant.set(d.tenant, [...(byTenant.get(d.tenant) ?? []), i]));
    const out: bigint[] = new Array<bigint>(deltas.length);
    await Promise.all(
      [...byTenant.values()].map(async (idx) => {
        const list = idx.map((i) => deltas[i]!);
        const r = (await this.run(
          'add',
          list.map((d) => this.key(d)),
          [String(TTL_MS), ...list.flatMap((d) => split(d.delta))],
        )) as string[];
        idx.forEach((i, j) => (out[i] = join(r[j * 2]!, r[j * 2 + 1]!)));
      }),
    );
    return out;
  }

  async consumeAll(items: readonly CounterItem[]): Promise<ConsumeOutcome> {
    if (new Set(items.map((it) => it.tenant)).size > 1) throw new RangeError('one consumption is for one tenant');
    const keys = items.flatMap((it) => [this.key(it), this.key({ ...it, period: it.next?.period ?? it.period })]);
    const args = [this.nowArg(), String(TTL_MS)];
    for (const it of items) args.push(it.next ? String(Math.floor(it.next.at / MICROS_PER_MS)) : '', ...split(it.limit), ...split(it.amount), it.hard ? '1' : '0');
    const r = (await this.run('consume', keys, args)) as (string | number)[];
    const periods: EpochMicros[] = [];
    const usages: bigint[] = [];
    items.forEach((it, i) => {
      periods.push(Number(r[1 + i * 3]) === 1 ? it.next!.period : it.period);
      usages.push(join(r[2 + i * 3]!, r[3 + i * 3]!));
    });
    return { recorded: Number(r[0]) === 1, usages, periods, decidedBy: { by: 'counters', mode: 'central' } };
  }

  /**
   * Leases up to `want` of each item's remaining allowance (counted as used at once); answers
   * what was granted and the usage after it. All items are of one tenant.
   */
  async lease(items: readonly { key: CounterKey; limit: bigint; want: bigint }[]): Promise<{ granted: bigint; usage: bigint }[]> {
    const r = (await this.run(
      'lease',
      items.map((it) => this.key(it.key)),
      [String(TTL_MS), ...items.flatMap((it) => [...split(it.limit), ...split(it.want)])],
    )) as string[];
    return items.map((_, i) => ({ granted: join(r[i * 4]!, r[i * 4 + 1]!), usage: join(r[i * 4 + 2]!, r[i * 4 + 3]!) }));
  }

  async forget(k: CounterKey): Promise<void> {
    await this.observed(() => this.redis.del(this.key(k)));
  }
}
