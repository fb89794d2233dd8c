import { createCounter } from '../algorithms/counter.ts';
import type { Counter } from '../algorithms/counter.ts';
import type { StoreDecision } from '../decision.ts';
import { assertCost, capacityOf } from '../policy.ts';
import type { Clock, LimiterStore, Policy, PolicyState, StoreMode, StoreRequest, StoreResult } from '../types.ts';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Injectable clock (default `Date.now`). */
  clock?: Clock;
  /**
   * Upper bound on live keys (default 100 000; each holds one counter per policy). When full,
   * expired keys are swept first; if none, the oldest-created key is evicted and counted in
   * `stats().evictedLive` (that key then starts fresh: eviction errs towards admitting, and is
   * reported).
   */
  maxKeys?: number;
  /**
   * One key is examined for expiry every `sweepEvery` calls (default 8): amortised expiry without
   * timers; a full pass over N keys takes N × sweepEvery calls (800,000 calls for 100,000 keys;
   * `maxKeys` bounds memory meanwhile). Every 2 calls cost ~20 % of the sync fast path's time.
   */
  sweepEvery?: number;
  /**
   * A key is collected only once it has been expired this long (default 1 000 ms), so hot keys
   * whose state briefly returns to empty are not deleted and re-created on every call.
   */
  sweepGraceMs?: number;
}

/** Counters exposed by {@link MemoryStore.stats}. */
export interface MemoryStoreStats {
  keys: number;
  expired: number;
  evictedLive: number;
}

/** The counters of one key: parallel arrays, found by policy name (policy sets are small). */
interface KeyState {
  names: string[];
  counters: Counter[];
  /** The policy array last used with this key: identity check skips the name comparison. */
  last: readonly Policy[] | undefined;
}

const NO_VIOLATIONS: readonly PolicyState[] = Object.freeze([]);

function expiredBy(s: KeyState, cutoff: number): boolean {
  for (const c of s.counters) if (c.expiresAt() > cutoff) return false;
  return true;
}

/**
 * In-process limiter store. Every operation is synchronous and O(policies). Memory is bounded by
 * `maxKeys` (sliding-log counters additionally hold at most `limit` log records each). Expired
 * keys are removed by an incremental sweep that advances a cursor a few keys per call; there is
 * no timer per key or at all, so the store never keeps a process alive.
 */
export class MemoryStore implements LimiterStore {
  private readonly map = new Map<string, KeyState>();
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly sweepEvery: number;
  private calls = 0;
  private readonly graceMs: number;
  private cursor: Iterator<KeyState> | undefined;
  private cursorKeys: Iterator<string> | undefined;
  /** Scratch space for per-call availability; safe because calls are synchronous. */
  private avail: number[] = [];
  private expired = 0;
  private evictedLive = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweepEvery = options.sweepEvery ?? 8;
    this.graceMs = options.sweepGraceMs ?? 1_000;
  }

  /** Synchronous evaluation; see {@link LimiterStore.apply}. The result is also a StoreDecision. */
  apply(request: StoreRequest): StoreDecision {
    return this.run(request.key, request.policies, request.cost, request.mode);
  }

  /** Positional form of {@link apply} for the synchronous fast path (no request object). */
  run(key: string, policies: readonly Policy[], cost: number, mode: StoreMode): StoreDecision {
    assertCost(cost);
    const now = this.clock();
    const n = policies.length;
    const counters = this.counters(key, policies, now);
    if (n === 1 && mode !== 'lease') return this.runOne(policies[0] as Policy, counters[0] as Counter, cost, mode, now);
    const avail = this.avail;
    let grant = cost;
    let all = true;
    for (let i = 0; i < n; i += 1) {
      const a = (counters[i] as Counter).available(now);
      avail[i] = a;
      if (mode === 'lease') grant = Math.min(grant, a);
      else if (cost > a) all = false;
    }
    if (mode === 'lease') {
      cost = grant;
      all = grant > 0;
    }
    const commit = all && mode !== 'peek' && cost > 0;
    if (commit) for (let i = 0; i < n; i += 1) (counters[i] as Counter).consume(now, cost);
    // A lease that got nothing is reported against a unit cost, so exhausted policies show as violated.
    const check = mode === 'lease' ? Math.max(cost, 1) : cost;
    const states: PolicyState[] = new Array(n);
    let violated = NO_VIOLATIONS;
    for (let i = 0; i < n; i += 1) {
      const p = policies[i] as Policy;
      const c = counters[i] as Counter;
      const a = avail[i] as number;
      const ok = check <= a;
      const s: PolicyState = {
        policy: p.name,
        allowed: ok,
        limit: capacityOf(p),
        remaining: commit ? a - cost : a,
        resetAt: c.resetAt(now),
        retryAfterMs: ok ? 0 : c.retryAfter(now, check),
      };
      states[i] = s;
      if (!ok) violated = violated === NO_VIOLATIONS ? [s] : [...violated, s];
    }
    if (++this.calls >= this.sweepEvery) {
      this.calls = 0;
      this.sweep(now, 1);
    }
    return { ok: true, allowed: all, now, consumed: commit ? cost : 0, states, violated: all ? NO_VIOLATIONS : violated };
  }

  /**
   * `run` for the common call: one policy, consume or peek (no scratch arrays, no loops). It
   * repeats the state construction of `run` on purpose: factoring both into one helper measured
   * 10–40 % slower in `bench:limiter`'s sync path.
   */
  private runOne(p: Policy, c: Counter, cost: number, mode: StoreMode, now: number): StoreDecision {
    const a = c.available(now);
    const ok = cost <= a;
    const commit = ok && mode !== 'peek' && cost > 0;
    if (commit) c.consume(now, cost);
    const s: PolicyState = {
      policy: p.name,
      allowed: ok,
      limit: capacityOf(p),
      remaining: commit ? a - cost : a,
      resetAt: c.resetAt(now),
      retryAfterMs: ok ? 0 : c.retryAfter(now, cost),
    };
    if (++this.calls >= this.sweepEvery) {
      this.calls = 0;
      this.sweep(now, 1);
    }
    return { ok: true, allowed: ok, now, consumed: commit ? cost : 0, states: [s], violated: ok ? NO_VIOLATIONS : [s] };
  }

  /** Synchronous refund; see {@link LimiterStore.refund}. */
  refund(request: Omit<StoreRequest, 'mode'>): StoreResult {
    assertCost(request.cost);
    const now = this.clock();
    const counters = this.counters(request.key, request.policies, now);
    const states = request.policies.map((p, i): PolicyState => {
      const c = counters[i] as Counter;
      c.available(now);
      c.refund(now, request.cost);
      return { policy: p.name, allowed: true, limit: capacityOf(p), remaining: c.available(now), resetAt: c.resetAt(now), retryAfterMs: 0 };
    });
    return { allowed: true, now, consumed: 0, states };
  }

  /** Key counts for monitoring and tests. */
  stats(): MemoryStoreStats {
    return { keys: this.map.size, expired: this.expired, evictedLive: this.evictedLive };
  }

  /** Drops every expired key now (a full pass; normally the incremental sweep suffices). */
  sweepAll(): void {
    const cutoff = this.clock() - this.graceMs;
    for (const [k, s] of this.map) {
      if (expiredBy(s, cutoff)) {
        this.map.delete(k);
        this.expired += 1;
      }
    }
  }

  private counters(key: string, policies: readonly Policy[], now: number): Counter[] {
    let s = this.map.get(key);
    if (s === undefined) {
      if (this.map.size >= this.maxKeys) this.makeRoom(now);
      s = { names: [], counters: [], last: undefined };
      this.map.set(key, s);
    }
    if (s.last === policies) return s.counters;
    const n = policies.length;
    // Same policy names as last time, in the same order (e.g. an equal but new array).
    if (s.names.length === n) {
      let same = true;
      for (let i = 0; i < n; i += 1) {
        if (s.names[i] !== (policies[i] as Policy).name) {
          same = false;
          break;
        }
      }
      if (same) {
        s.last = policies;
        return s.counters;
      }
    }
    const out: Counter[] = new Array(n);
    for (let i = 0; i < n; i += 1) {
      const p = policies[i] as Policy;
      const at = s.names.indexOf(p.name);
      if (at >= 0) out[i] = s.counters[at] as Counter;
      else {
        const c = createCounter(p);
        s.names.push(p.name);
        s.counters.push(c);
        out[i] = c;
      }
    }
    return out;
  }

  private sweep(now: number, budget: number): void {
    // Two parallel iterators (values, keys) avoid allocating an [key, value] pair per step.
    for (let i = 0; i < budget; i += 1) {
      if (this.cursor === undefined || this.cursorKeys === undefined) {
        this.cursor = this.map.values();
        this.cursorKeys = this.map.keys();
      }
      const next = this.cursor.next();
      const key = this.cursorKeys.next();
      if (next.done === true || key.done === true) {
        this.cursor = undefined;
        return;
      }
      if (expiredBy(next.value, now - this.graceMs)) {
        this.map.delete(key.value);
        this.expired += 1;
      }
    }
  }

  private makeRoom(now: number): void {
    this.sweep(now, 64);
    while (this.map.size >= this.maxKeys) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) return;
      this.map.delete(oldest.value);
      this.evictedLive += 1;
    }
  }
}
