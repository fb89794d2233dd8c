import type { Redis } from 'ioredis';
import type { LeaseStore } from '../lease-store.ts';

// KEYS[1] lease hash, KEYS[2] token counter; ARGV holder, ttl. Server time decides expiry (PX).
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token`;

const RENEW = `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then redis.call('DEL', KEYS[1]) end
return 1`;

/**
 * Leases in Redis (the distributed profile): one Lua script per call, expiry in server time,
 * the fencing token from a counter that never goes back (kept without expiry). Keys share a
 * hash tag per lease name, so a cluster keeps each lease's two keys on one slot.
 */
export class RedisLeaseStore implements LeaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(name: string): [string, string] {
    return [`${this.prefix}:lease:{${name}}`, `${this.prefix}:lease-token:{${name}}`];
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<number | null> {
    const token = Number(await this.redis.eval(ACQUIRE, 2, ...this.keys(name), holder, String(ttlMs)));
    return token > 0 ? token : null;
  }

  async renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keys(name)[0], holder, String(token), String(ttlMs))) === 1;
  }

  async isCurrent(name: string, token: number): Promise<boolean> {
    return (await this.redis.hget(this.keys(name)[0], 'token')) === String(token);
  }

  async release(name: string, holder: string, token: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys(name)[0], holder, String(token));
  }
}
