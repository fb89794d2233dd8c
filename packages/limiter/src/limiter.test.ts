import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter.ts';
import { MemoryStore } from './memory/memory-store.ts';
import type { FailurePolicy } from './failure/failure-policy.ts';
import type { LimiterStore, Policy, StoreResult } from './types.ts';

const policies: Policy[] = [{ name: 'p', algorithm: 'fixed-window', limit: 1, windowMs: 60_000 }];

/** A store whose health the test switches; healthy calls go to a real MemoryStore. */
function switchableStore(clock: () => number) {
  const inner = new MemoryStore({ clock });
  const ctl = { mode: 'up' as 'up' | 'error' | 'hang' };
  const store: LimiterStore = {
    apply: (r): Promise<StoreResult> => {
      if (ctl.mode === 'error') return Promise.reject(new Error('ECONNREFUSED'));
      if (ctl.mode === 'hang') return new Promise(() => undefined);
      return Promise.resolve(inner.apply(r));
    },
    refund: (r) => (ctl.mode === 'up' ? Promise.resolve(inner.refund(r)) : Promise.reject(new Error('down'))),
  };
  return { store, ctl };
}

function setup(failure: FailurePolicy) {
  let now = 10_000;
  const clock = () => now;
  const { store, ctl } = switchableStore(clock);
  const errors: string[] = [];
  const limiter = new Limiter({
    store,
    policies,
    failure,
    clock,
    timeoutMs: 5,
    breaker: { failureThreshold: 2, cooldownMs: 200 },
    onStoreError: (cause) => {
      errors.push(cause);
      throw new Error('observer bug');
    },
  });
  return { limiter, ctl, errors, advance: (ms: number) => (now += ms) };
}

describe('Limiter failure policy', () => {
  it('a store error is a degraded decision, never a denial, and is observed', async () => {
    const { limiter, ctl, errors } = setup({ mode: 'fail-open' });
    expect(await limiter.limit('k')).toMatchObject({ ok: true, allowed: true });
    expect(await limiter.limit('k')).toMatchObject({ ok: true, allowed: false, violated: [{ policy: 'p' }] });
    ctl.mode = 'error';
    const d = await limiter.limit('k');
    expect(d).toMatchObject({ ok: false, allowed: true, cause: 'store-error', mode: 'fail-open' });
    expect(errors).toEqual(['store-error']);
  });

  it('fail-closed rejects during the outage; a timeout counts as a failure', async () => {
    const { limiter, ctl } = setup({ mode: 'fail-closed' });
    ctl.mode = 'hang';
    expect(await limiter.limit('k')).toMatchObject({ ok: false, allowed: false, cause: 'timeout' });
  });

  it('open-then-closed admits for openForMs of outage, then rejects; recovers after cooldown', async () => {
    const { limiter, ctl, advance } = setup({ mode: 'open-then-closed', openForMs: 1_000 });
    ctl.mode = 'error';
    expect(await limiter.limit('k')).toMatchObject({ ok: false, allowed: true, outageMs: 0 });
    advance(100);
    expect(await limiter.limit('k')).toMatchObject({ ok: false, allowed: true, cause: 'store-error', outageMs: 100 });
    expect(limiter.circuitState()).toBe('open');
    advance(100);
    expect(await limiter.limit('k')).toMatchObject({ ok: false, allowed: true, cause: 'circuit-open' });
    advance(800);
    // Cooldown over: a probe goes to the store, fails and re-opens the circuit.
    expect(await limiter.limit('k')).toMatchObject({ ok: false, allowed: false, cause: 'store-error', outageMs: 1_000 });
    ctl.mode = 'up';
    expect(await limiter.limit('k')).toMatchObject({ ok: false, cause: 'circuit-open' }); // still in cooldown
    advance(200);
    expect(await limiter.limit('k')).toMatchObject({ ok: true, allowed: true }); // the probe closes it
    expect(limiter.circuitState()).toBe('closed');
    ctl.mode = 'error';
    expect(await limiter.limit('k')).toMatchObject({ ok: false, allowed: true, outageMs: 0 }); // a new outage
  });

  it('refund reports a store failure as a typed result', async () => {
    const { limiter, ctl } = setup({ mode: 'fail-open' });
    ctl.mode = 'error';
    expect(await limiter.refund('k')).toMatchObject({ ok: false, cause: 'store-error' });
  });

  it('rejects invalid policies with every problem listed, and invalid costs as caller bugs', async () => {
    const store = new MemoryStore();
    expect(() => new Limiter({ store, failure: { mode: 'fail-open' }, policies: [{ name: 'a b', algorithm: 'gcra', limit: 0, windowMs: 1.5 }] })).toThrow(
      /name.*limit.*windowMs/,
    );
    const limiter = new Limiter({ store, policies, failure: { mode: 'fail-open' } });
    await expect(limiter.limit('k', { cost: 1.5 })).rejects.toThrow(RangeError);
  });

  it('per-call policy sets (e.g. a tenant plan) are validated and used', async () => {
    const limiter = new Limiter({ store: new MemoryStore(), policies, failure: { mode: 'fail-closed' } });
    const plan: Policy[] = [{ name: 'plan', algorithm: 'sliding-log', limit: 3, windowMs: 1_000 }];
    expect(await limiter.limit('t', { policies: plan, cost: 3 })).toMatchObject({ ok: true, allowed: true, states: [{ policy: 'plan', remaining: 0 }] });
    expect(await limiter.peek('t', { policies: plan })).toMatchObject({ ok: true, allowed: false });
  });
});
