import type { Cluster, Redis } from 'ioredis';
import { assertCost, capacityOf } from '../policy.ts';
import type { Algorithm, Clock, LimiterStore, Policy, PolicyState, StoreMode, StoreRequest, StoreResult } from '../types.ts';
import { BATCH_LUA, GCRA_LUA, LIMIT_LUA } from './lua.ts';

const CODES: Record<Algorithm, string> = { 'fixed-window': '1', 'sliding-window': '2', gcra: '3', 'sliding-log': '4' };

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis client or cluster; see `createRedisClient` for fail-fast settings. */
  redis: Redis | Cluster;
  /** Key prefix (default `tally:rl:`); must not contain `{` or `}`. */
  prefix?: string;
  /**
   * Test hook: pass the time into the script instead of reading Redis `TIME`. Production code
   * leaves it unset so every node shares the server's clock. Read when the call is made, so
   * coalesced calls keep their own injected times.
   */
  clock?: Clock;
  /**
   * Request coalescing (default `true`). Calls are queued, and the queue is flushed by a
   * `process.nextTick` scheduled by the first queued call, i.e. once the current macrotask and its
   * microtasks are done: every call issued in the meantime (typically the continuations of the
   * replies that arrived in one socket read) goes out in ONE script run, which reads `TIME` once
   * and runs the calls in call order, each still atomic and all or nothing across its policies and
   * answered exactly as if it had run alone at that instant. There is no timer: a lone call leaves
   * in the same tick, as a one-request run of the same script. A queue that reaches `maxBatch`
   * leaves at once. Several batches may be in flight on the connection (pipelined); there is
   * deliberately no "one batch in flight" rule, so a slow or frozen server cannot make calls pile
   * up behind an unanswered batch (they time out individually in the `Limiter`).
   *
   * Failures: a transport error (disconnected client, dead port, failed script run) rejects every
   * call of the batch, so the `Limiter` applies its failure policy to each of them (never a
   * denial); a timeout is per call, in the `Limiter`. A Lua error raised by one call's own keys
   * (e.g. WRONGTYPE) rejects that call only, with {@link RedisScriptError}.
   *
   * Redis Cluster: the keys of one script must share a slot, so with a Cluster client only calls
   * on the same limiter key (one `{hash tag}`) are coalesced; calls on different keys go out as
   * separate runs, as without coalescing. `false` sends one script run per call.
   */
  coalesce?: boolean;
  /**
   * Most calls in one coalesced script run (default 32); a full queue leaves at once and later calls
   * start the next batch. Bounds how long one script blocks Redis and lets two or more batches
   * overlap (Node prepares one while Redis runs another) at 64+ calls in flight.
   */
  maxBatch?: number;
}

/** Counters of {@link RedisStore}, e.g. to see the average batch size (`requests / scripts`). */
export interface RedisStoreStats {
  /** Calls sent to Redis (apply and refund). */
  readonly requests: number;
  /** Script runs (EVALSHA / EVAL) that carried them. */
  readonly scripts: number;
  /** Script runs that carried more than one call. */
  readonly batches: number;
}

type Reply = (number | string)[];
type ScriptFn = (...args: (string | number | readonly string[])[]) => Promise<Reply>;

/** One call for the scripts. */
interface Call {
  readonly key: string;
  readonly policies: readonly Policy[];
  readonly mode: StoreMode | 'refund';
  readonly cost: number;
  /** The injected time, read when the call was made ('' = Redis server TIME). */
  readonly now: string;
}

/** A coalesced call waiting for its answer. */
interface Pending extends Call {
  readonly resolve: (result: StoreResult) => void;
  readonly reject: (error: unknown) => void;
}

/** The common call, with a lean request of its own: one GCRA policy, consume or peek. */
const isLean = (p: Call): boolean => p.policies.length === 1 && p.policies[0]!.algorithm === 'gcra' && (p.mode === 'consume' || p.mode === 'peek');

/** A script error raised by one call of a coalesced batch (the other calls are unaffected). */
export class RedisScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisScriptError';
  }
}

/**
 * Redis limiter store: every operation is a Lua script (EVALSHA, falling back to EVAL on
 * NOSCRIPT via ioredis `defineCommand`) that reads Redis server `TIME`, so decisions are atomic
 * across processes and independent of client clocks. All keys of one call share the hash tag
 * `{key}`, so multi-policy scripts are valid on Redis Cluster. Concurrent calls are coalesced into
 * one script run by default; see {@link RedisStoreOptions.coalesce}.
 */
export class RedisStore implements LimiterStore {
  private readonly limitScript: ScriptFn;
  private readonly gcraScript: ScriptFn;
  private readonly batchScript: ScriptFn;
  private readonly prefix: string;
  private readonly clock: Clock | undefined;
  private readonly args = new WeakMap<Policy, readonly string[]>();
  private readonly coalesce: boolean;
  private readonly maxBatch: number;
  private readonly cluster: boolean;
  private queue: Pending[] = [];
  private readonly counts = { requests: 0, scripts: 0, batches: 0 };

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'tally:rl:';
    if (/[{}]/.test(this.prefix)) throw new RangeError('prefix must not contain { or }');
    this.clock = options.clock;
    this.coalesce = options.coalesce ?? true;
    this.maxBatch = options.maxBatch ?? 32;
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
    const redis = options.redis;
    this.cluster = redis.isCluster;
    redis.defineCommand('tallyLimit', { lua: LIMIT_LUA });
    redis.defineCommand('tallyGcra', { lua: GCRA_LUA, numberOfKeys: 1 });
    redis.defineCommand('tallyBatch', { lua: BATCH_LUA });
    const commands = redis as unknown as { tallyLimit: ScriptFn; tallyGcra: ScriptFn; tallyBatch: ScriptFn };
    this.limitScript = commands.tallyLimit.bind(redis);
    this.gcraScript = commands.tallyGcra.bind(redis);
    this.batchScript = commands.tallyBatch.bind(redis);
  }

  /** Redis keys used for `key` and `policy` (the state key; sliding-log adds its meta key). */
  keysFor(key: string, policy: Policy): string[] {
    const base = `${this.prefix}{${key}}:${policy.name}`;
    return policy.algorithm === 'sliding-log' ? [base, `${base}:m`] : [base];
  }

  /** Calls sent, script runs and multi-call batches so far. */
  stats(): RedisStoreStats {
    return { ...this.counts };
  }

  // No `async` on apply/refund: one promise hop less on the hot path.
  apply(request: StoreRequest): Promise<StoreResult> {
    return this.submit(request.key, request.policies, request.mode, request.cost);
  }

  refund(request: Omit<StoreRequest, 'mode'>): Promise<StoreResult> {
    return this.submit(request.key, request.policies, 'refund', request.cost);
  }

  private submit(key: string, policies: readonly Policy[], mode: StoreMode | 'refund', cost: number): Promise<StoreResult> {
    try {
      assertCost(cost);
    } catch (error) {
      return Promise.reject(error as RangeError);
    }
    const now = this.clock === undefined ? '' : String(this.clock());
    if (!this.coalesce) {
      this.counts.requests += 1;
      this.counts.scripts += 1;
      return this.runOne({ key, policies, mode, cost, now });
    }
    return new Promise<StoreResult>((resolve, reject) => {
      const queue = this.queue;
      queue.push({ key, policies, mode, cost, now, resolve, reject });
      // The first pending call schedules the flush: it runs once this tick's microtasks are done,
      // so every call issued meanwhile joins it. No timer: a lone call leaves in the same tick.
      if (queue.length === 1) process.nextTick(this.flush);
      if (queue.length >= this.maxBatch && !this.cluster) this.flush(); // a full batch leaves at once
    });
  }

  private readonly flush = (): void => {
    const queue = this.queue;
    if (queue.length === 0) return; // already sent as a full batch
    this.queue = [];
    if (!this.cluster) {
      this.send(queue);
      return;
    }
    // Redis Cluster: a script's keys must share one slot, so only calls on one key are coalesced.
    const groups = new Map<string, Pending[]>();
    for (const p of queue) {
      const group = groups.get(p.key);
      if (group === undefined) groups.set(p.key, [p]);
      else group.push(p);
    }
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += this.maxBatch) this.send(group.slice(i, i + this.maxBatch));
    }
  };

  /** One script run for the calls of `batch`, in order (see lua.ts for the encoding). */
  private send(batch: Pending[]): void {
    this.counts.requests += batch.length;
    this.counts.scripts += 1;
    if (batch.length === 1) {
      const p = batch[0]!;
      let reply: Promise<Reply>;
      try {
        reply = this.runScript(p);
      } catch (error) {
        p.reject(error);
        return;
      }
      reply.then((r) => p.resolve(this.parse(r, p.policies, 0)), p.reject);
      return;
    }
    this.counts.batches += 1;
    const keys: string[] = [];
    const defs: string[] = [];
    const reqs: string[] = [];
    const index = new Map<Policy, string>();
    const ref = (policy: Policy): string => {
      let i = index.get(policy);
      if (i === undefined) {
        i = String(index.size + 1);
        index.set(policy, i);
        for (const a of this.policyArgs(policy)) defs.push(a);
      }
      return i;
    };
    for (const p of batch) {
      const tagged = `${this.prefix}{${p.key}}:`;
      if (isLean(p)) {
        const policy = p.policies[0]!;
        keys.push(tagged + policy.name);
        reqs.push(`g:${p.mode}:${p.cost}:${p.now}:${ref(policy)}`);
        continue;
      }
      let indexes = '';
      for (const policy of p.policies) {
        keys.push(tagged + policy.name);
        if (policy.algorithm === 'sliding-log') keys.push(`${tagged}${policy.name}:m`);
        indexes += indexes === '' ? ref(policy) : `,${ref(policy)}`;
      }
      reqs.push(`x:${p.mode}:${p.cost}:${p.now}:${indexes}`);
    }
    const fail = (error: unknown): void => {
      for (const p of batch) p.reject(error);
    };
    let reply: Promise<Reply>;
    try {
      reply = this.batchScript(keys.length, keys, String(index.size), defs, reqs);
    } catch (error) {
      fail(error);
      return;
    }
    reply.then(
      (r) => {
        let at = 0;
        let i = 0;
        try {
          for (; i < batch.length; i += 1) {
            const p = batch[i]!;
            if (r[at] === -1) {
              p.reject(new RedisScriptError(String(r[at + 1])));
              at += 2;
            } else {
              p.resolve(this.parse(r, p.policies, at));
              at += 3 + 4 * p.policies.length;
            }
          }
        } catch (error) {
          for (; i < batch.length; i += 1) batch[i]!.reject(error); // a malformed reply: never leave a call hanging
        }
      },
      // A transport error or a failed script run: no call of the batch is known to be decided.
      fail,
    );
  }

  /** A script run for one call: the same request code as in a batch, on a lone entry point (see lua.ts). */
  private runOne(call: Call): Promise<StoreResult> {
    let reply: Promise<Reply>;
    try {
      reply = this.runScript(call);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // A lone call runs without pcall: a script error rejects it as an ioredis ReplyError.
    return reply.then((r) => this.parse(r, call.policies, 0));
  }

  private runScript(call: Call): Promise<Reply> {
    const tagged = `${this.prefix}{${call.key}}:`;
    const policies = call.policies;
    if (isLean(call)) {
      const policy = policies[0]!;
      const a = this.policyArgs(policy);
      return this.gcraScript(tagged + policy.name, call.mode, String(call.cost), call.now, a[1]!, a[2]!, a[3]!, a[4]!);
    }
    const keys: string[] = [];
    const args: string[] = [call.mode, String(call.cost), call.now];
    for (const policy of policies) {
      keys.push(tagged + policy.name);
      if (policy.algorithm === 'sliding-log') keys.push(`${tagged}${policy.name}:m`);
      for (const a of this.policyArgs(policy)) args.push(a);
    }
    return this.limitScript(keys.length, keys, args);
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

  /** One call's answer, starting at `at` in the reply. */
  private parse(reply: Reply, policies: readonly Policy[], at: number): StoreResult {
    const states: PolicyState[] = policies.map((p, i) => {
      const o = at + 3 + i * 4;
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
    return { allowed: reply[at] === 1, now: reply[at + 1] as number, consumed: reply[at + 2] as number, states };
  }
}
