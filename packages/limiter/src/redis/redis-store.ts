import type { Cluster, Redis } from 'ioredis';
import { assertCost, capacityOf } from '../policy.ts';
import type { Algorithm, Clock, LimiterStore, Policy, PolicyState, StoreRequest, StoreResult } from '../types.ts';
import { GCRA_LUA, LIMIT_LUA, REFUND_LUA } from './lua.ts';

const CODES: Record<Algorithm, string> = { 'fixed-window': '1', 'sliding-window': '2', gcra: '3', 'sliding-log': '4' };

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis client or cluster; see `createRedisClient` for fail-fast settings. */
  redis: Redis | Cluster;
  /** Key prefix (default `tally:rl:`); must not contain `{` or `}`. */
  prefix?: string;
  /**
   * Test hook: pass the time into the script instead of reading Redis `TIME`. Production code
   * leaves it unset so every node shares the server's clock.
   */
  clock?: Clock;
}

type ScriptFn = (...args: (string | number)[]) => Promise<number[]>;

/**
 * Redis limiter store: every operation is one Lua script (EVALSHA, falling back to EVAL on
 * NOSCRIPT via ioredis `defineCommand`) that reads Redis server `TIME`, so decisions are atomic
 * across processes and independent of client clocks. All keys of one call share the hash tag
 * `{key}`, so multi-policy scripts are valid on Redis Cluster.
 */
export class RedisStore implements LimiterStore {
  private readonly limitScript: ScriptFn;
  private readonly refundScript: ScriptFn;
  private readonly gcraScript: ScriptFn;
  private readonly prefix: string;
  private readonly clock: Clock | undefined;
  private readonly args = new WeakMap<Policy, readonly string[]>();

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'tally:rl:';
    if (/[{}]/.test(this.prefix)) throw new RangeError('prefix must not contain { or }');
    this.clock = options.clock;
    const redis = options.redis;
    redis.defineCommand('tallyLimit', { lua: LIMIT_LUA });
    redis.defineCommand('tallyRefund', { lua: REFUND_LUA });
    redis.defineCommand('tallyGcra', { lua: GCRA_LUA, numberOfKeys: 1 });
    const commands = redis as unknown as { tallyLimit: ScriptFn; tallyRefund: ScriptFn; tallyGcra: ScriptFn };
    this.limitScript = commands.tallyLimit.bind(redis);
    this.refundScript = commands.tallyRefund.bind(redis);
    this.gcraScript = commands.tallyGcra.bind(redis);
  }

  /** Redis keys used for `key` and `policy` (the state key; sliding-log adds its meta key). */
  keysFor(key: string, policy: Policy): string[] {
    const base = `${this.prefix}{${key}}:${policy.name}`;
    return policy.algorithm === 'sliding-log' ? [base, `${base}:m`] : [base];
  }

  apply(request: StoreRequest): Promise<StoreResult> {
    try {
      assertCost(request.cost);
    } catch (error) {
      return Promise.reject(error as RangeError);
    }
    const { policies, mode } = request;
    const single = policies.length === 1 ? policies[0]! : undefined;
    // The common case (one GCRA policy, consume or peek) has a lean script of its own. No
    // `async` here: one promise hop less on the hot path.
    const reply =
      single !== undefined && single.algorithm === 'gcra' && mode !== 'lease'
        ? this.gcraScript(`${this.prefix}{${request.key}}:${single.name}`, mode, String(request.cost), this.clock === undefined ? '' : String(this.clock()), ...this.gcraArgs(single))
        : this.limitScript(...this.scriptArgs(request.key, policies, mode, request.cost));
    return reply.then((r) => this.parse(r, policies));
  }

  /** Limit, windowMs, burst and TTL of a GCRA policy for the lean script (cached). */
  private gcraArgs(p: Policy): readonly string[] {
    const a = this.policyArgs(p);
    return [a[1]!, a[2]!, a[3]!, a[4]!];
  }

  async refund(request: Omit<StoreRequest, 'mode'>): Promise<StoreResult> {
    assertCost(request.cost);
    const reply = await this.refundScript(...this.scriptArgs(request.key, request.policies, 'refund', request.cost));
    return this.parse(reply, request.policies);
  }

  private scriptArgs(key: string, policies: readonly Policy[], mode: string, cost: number): (string | number)[] {
    const out: (string | number)[] = [0];
    const tagged = `${this.prefix}{${key}}:`;
    for (const p of policies) {
      out.push(tagged + p.name);
      if (p.algorithm === 'sliding-log') out.push(`${tagged}${p.name}:m`);
    }
    out[0] = out.length - 1;
    out.push(mode, String(cost), this.clock === undefined ? '' : String(this.clock()), String(policies.length));
    for (const p of policies) for (const a of this.policyArgs(p)) out.push(a);
    return out;
  }

  /**
   * The script arguments of a policy, computed once: algorithm code, limit, windowMs, burst and a
   * constant TTL upper bound refreshed on every write (a fixed window's state is useless W after
   * its last write, a sliding window's 2W, a full GCRA bucket drains in burst·W/limit, a log entry
   * lives W). With an injected (test) clock a slack is added so real time cannot expire state the
   * fake clock still needs.
   */
  private policyArgs(p: Policy): readonly string[] {
    const cached = this.args.get(p);
    if (cached !== undefined) return cached;
    const burst = p.burst ?? p.limit;
    const base = p.algorithm === 'sliding-window' ? 2 * p.windowMs : p.algorithm === 'gcra' ? Math.ceil((burst * p.windowMs) / p.limit) : p.windowMs;
    const ttl = base + 1 + (this.clock === undefined ? 0 : 600_000);
    const args = [CODES[p.algorithm], String(p.limit), String(p.windowMs), String(burst), String(ttl)];
    this.args.set(p, args);
    return args;
  }

  private parse(reply: number[], policies: readonly Policy[]): StoreResult {
    const states: PolicyState[] = policies.map((p, i) => {
      const o = 3 + i * 4;
      const retry = reply[o + 3] as number;
      return {
        policy: p.name,
        allowed: reply[o] === 1,
        limit: capacityOf(p),
        remaining: reply[o + 1] as number,
        resetAt: reply[o + 2] as number,
        retryAfterMs: retry < 0 ? null : retry,
      };
    });
    return { allowed: reply[0] === 1, now: reply[1] as number, consumed: reply[2] as number, states };
  }
}
