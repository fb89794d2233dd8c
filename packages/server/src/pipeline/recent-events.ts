import type { Redis } from 'ioredis';
import type { RecentEvents } from '../stream/port.ts';

/**
 * KEYS[1] the partition's count of published events, KEYS[2..] one key per event;
 * ARGV[1] window (ms), ARGV[2] events stored. Returns 1 per key claimed now, 0 per key already held.
 */
const RECORD = `
redis.call('INCRBY', KEYS[1], ARGV[2])
local out = {}
for i = 2, #KEYS do
  out[i - 1] = redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[1]) and 1 or 0
end
return out`;

/**
 * The duplicate window per event in Redis: `SET NX PX` of `tenant \0 id` for the window, one
 * script per partition and request. Keys share the partition's hash tag with the live counters,
 * so the script is atomic on Redis Cluster too.
 */
export class RedisRecentEvents implements RecentEvents {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async record(partition: number, keys: readonly string[], stored: number, windowMs: number): Promise<boolean[]> {
    const base = `${this.prefix}:{p${partition}}`;
    const redisKeys = [`${base}:published`];
    for (const k of keys) redisKeys.push(`${base}:w:${k}`);
    const claimed = (await this.redis.eval(RECORD, redisKeys.length, ...redisKeys, String(Math.max(1, Math.round(windowMs))), String(stored))) as number[];
    return claimed.map((c) => c === 1);
  }
}
