import type { Redis } from 'ioredis';
import type { EventRecord } from '../events/event.ts';
import { SCALE } from '../shared/decimal.ts';
import { Partitioner } from '../stream/port.ts';
import type { DerivedRows } from '../usage/derive-rollups.ts';

/** The value of one live counter: events counted and the exact sum of the meter's quantity. */
export interface CounterValue {
  count: bigint;
  /** Scaled (×10^12); 0 for meters without a quantity. */
  sum: bigint;
}

/**
 * Applies a batch's increments and moves the partition watermark in one step, only when the
 * batch is past the watermark: a batch replayed after a crash is a no-op. Sums are kept exact
 * as `hi` (whole units, HINCRBY is 64-bit) + `lo` (fraction ×10^12, carried into `hi`). It also
 * adds the batch's log events to the partition's consumed count (the lag gauge), and when the
 * worker had read everything the log held, resets the published count to it.
 * KEYS[1] watermark, KEYS[2] consumed, KEYS[3] published, KEYS[4..] counter hashes;
 * ARGV[1] seq, ARGV[2] ttl s, ARGV[3] log events, ARGV[4] caught up (1/0), then n/hi/lo per key.
 */
const APPLY = `
local wm = tonumber(redis.call('GET', KEYS[1]) or '0')
if wm >= tonumber(ARGV[1]) then return 0 end
local consumed = redis.call('INCRBY', KEYS[2], ARGV[3])
if ARGV[4] == '1' then redis.call('SET', KEYS[3], consumed) end
for i = 4, #KEYS do
  local b = 5 + (i - 4) * 3
  redis.call('HINCRBY', KEYS[i], 'n', ARGV[b])
  if ARGV[b + 1] ~= '0' then redis.call('HINCRBY', KEYS[i], 'hi', ARGV[b + 1]) end
  if ARGV[b + 2] ~= '0' then
    local lo = redis.call('HINCRBY', KEYS[i], 'lo', ARGV[b + 2])
    if lo >= 1000000000000 then
      redis.call('HINCRBY', KEYS[i], 'lo', -1000000000000)
      redis.call('HINCRBY', KEYS[i], 'hi', 1)
    end
  end
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

const TTL_SECONDS = 400 * 86_400;

/** UTC periods a counter is kept for: the day and the month of the event. */
function periods(bucketUs: number): string[] {
  const iso = new Date(bucketUs / 1000).toISOString();
  return [`d:${iso.slice(0, 10)}`, `m:${iso.slice(0, 7)}`];
}

/**
 * Exact live counters per tenant, meter and period (UTC day, month) in Redis, fed by the
 * pipeline workers for the quota layer. Keys of one stream partition share a hash tag, so a
 * batch's increments and the partition watermark are one atomic script even on Redis Cluster.
 * A hot tenant's events spread over every partition, so it has one counter per partition and
 * a read sums them.
 */
export class LiveCounters {
  private readonly partitioner: Partitioner;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    partitions: number,
    hotTenants: readonly string[] = [],
  ) {
    this.partitioner = new Partitioner(partitions, hotTenants);
  }

  private base(part: number): string {
    return `${this.prefix}:{p${part}}`;
  }

  /** The key of one counter in partition `part` (a tenant that is not hot has counters in its own partition only). */
  key(tenant: string, meter: string, period: string, part = this.partitioner.spans(tenant)[0]!): string {
    return `${this.base(part)}:c:${tenant}:${meter}:${period}`;
  }

  /** The highest stream sequence of `part` already counted. */
  async watermark(part: number): Promise<number> {
    return Number((await this.redis.get(`${this.base(part)}:wm`)) ?? 0);
  }

  /** Events published to the partition's log and events committed from it, as counted so far (the lag gauge). */
  async progress(part: number): Promise<{ published: number; consumed: number }> {
    const [published, consumed] = await this.redis.mget(`${this.base(part)}:published`, `${this.base(part)}:consumed`);
    return { published: Number(published ?? 0), consumed: Number(consumed ?? 0) };
  }

  /**
   * Counts a committed batch (its day rollups) unless `seq` is at or below the watermark. Returns
   * false for a replay. `log` is how many log events the batch held and whether the worker had
   * then read all the log held (see `progress`).
   */
  async apply(part: number, seq: number, derived: DerivedRows, log: { events: number; caughtUp: boolean } = { events: 0, caughtUp: false }): Promise<boolean> {
    const acc = new Map<string, CounterValue>();
    for (const r of derived.rollups) {
      if (r.res !== 'day') continue;
      for (const period of periods(r.bucket)) {
        const k = this.key(r.tenant, r.meter, period, part);
        const cur = acc.get(k) ?? { count: 0n, sum: 0n };
        cur.count += r.c.count;
        cur.sum += r.c.sum ?? 0n;
        acc.set(k, cur);
      }
    }
    const keys = [`${this.base(part)}:wm`, `${this.base(part)}:consumed`, `${this.base(part)}:published`];
    const args: string[] = [String(seq), String(TTL_SECONDS), String(log.events), log.caughtUp ? '1' : '0'];
    for (const [k, v] of acc) {
      const hi = v.sum >= 0n ? v.sum / SCALE : -((-v.sum + SCALE - 1n) / SCALE);
      keys.push(k);
      args.push(String(v.count), String(hi), String(v.sum - hi * SCALE));
    }
    return (await this.redis.eval(APPLY, keys.length, ...keys, ...args)) === 1;
  }

  /** Reads one counter (`meter` is the rollup series, `Meter.series`, the key rollups carry), summed over the partitions the tenant spans. */
  async read(tenant: string, meter: string, period: string): Promise<CounterValue> {
    const parts = this.partitioner.spans(tenant);
    const pipe = this.redis.pipeline();
    for (const p of parts) pipe.hmget(this.key(tenant, meter, period, p), 'n', 'hi', 'lo');
    const out: CounterValue = { count: 0n, sum: 0n };
    for (const [err, v] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      const [n, hi, lo] = v as (string | null)[];
      out.count += BigInt(n ?? 0);
      out.sum += BigInt(hi ?? 0) * SCALE + BigInt(lo ?? 0);
    }
    return out;
  }

  /**
   * Brings the partition's counters up to `upToSeq` from events already committed to the
   * store (after a crash between the store commit and the counter update, or a Redis loss).
   */
  async catchUp(part: number, upToSeq: number, source: (part: number, after: number, upTo: number) => AsyncIterable<{ record: EventRecord; seq: number }[]>, derive: (events: EventRecord[]) => DerivedRows): Promise<number> {
    const from = await this.watermark(part);
    if (from >= upToSeq) return 0;
    let replayed = 0;
    for await (const page of source(part, from, upToSeq)) {
      await this.apply(part, page[page.length - 1]!.seq, derive(page.map((p) => p.record)));
      replayed += page.length;
    }
    await this.apply(part, upToSeq, { rollups: [], uniques: [], skipped: 0 });
    return replayed;
  }
}
