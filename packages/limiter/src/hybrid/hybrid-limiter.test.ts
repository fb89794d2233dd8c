import { describe, expect, it } from 'vitest';
import { T0 } from '../contract/store-contract.ts';
import { Limiter } from '../limiter.ts';
import { MemoryStore } from '../memory/memory-store.ts';
import type { Policy } from '../types.ts';
import { HybridLimiter } from './hybrid-limiter.ts';

function setup(policies: Policy[], chunk: number, leaseMs?: number) {
  const clock = { now: T0 };
  const fn = () => clock.now;
  const store = new MemoryStore({ clock: fn });
  let roundTrips = 0;
  const counted = { apply: (r: Parameters<MemoryStore['apply']>[0]) => ((roundTrips += 1), store.apply(r)), refund: (r: Parameters<MemoryStore['refund']>[0]) => store.refund(r) };
  const limiter = new Limiter({ store: counted, policies, failure: { mode: 'fail-closed' }, clock: fn });
  const node = () => new HybridLimiter({ limiter, chunk, clock: fn, ...(leaseMs === undefined ? {} : { leaseMs }) });
  const globalRemaining = (key: string) => store.apply({ key, policies, cost: 0, mode: 'peek' }).states.map((s) => s.remaining);
  return { clock, node, globalRemaining, trips: () => roundTrips };
}

describe('HybridLimiter', () => {
  it('spends a leased chunk locally: one store round trip per chunk', async () => {
    const { node, globalRemaining, trips } = setup([{ name: 'p', algorithm: 'fixed-window', limit: 10, windowMs: 1_000 }], 4);
    const a = node();
    expect(a.tryLocal('k')).toBe(false);
    for (let i = 0; i < 4; i += 1) expect(await a.limit('k')).toMatchObject({ ok: true, allowed: true });
    expect(trips()).toBe(1);
    expect(globalRemaining('k')).toEqual([6]);
    expect(a.tryLocal('k')).toBe(false);
  });

  it('never admits more than the limit across nodes; partial grants are used', async () => {
    const { node } = setup([{ name: 'p', algorithm: 'fixed-window', limit: 10, windowMs: 60_000 }], 4);
    const nodes = [node(), node(), node()];
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (nodes[i % 3] as HybridLimiter).limit('k')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    const denied = results.find((r) => !r.allowed);
    expect(denied).toMatchObject({ ok: true, allowed: false, violated: [{ policy: 'p' }] });
  });

  it('fixed-window leases die exactly at the end of their window', async () => {
    const { node, clock, globalRemaining } = setup([{ name: 'p', algorithm: 'fixed-window', limit: 10, windowMs: 1_000 }], 4);
    const a = node();
    clock.now = T0 + 990;
    await a.limit('k');
    clock.now = T0 + 999;
    expect(a.tryLocal('k')).toBe(true);
    clock.now = T0 + 1_000;
    expect(a.tryLocal('k')).toBe(false);
    await a.limit('k');
    expect(globalRemaining('k')).toEqual([6]); // the new window: the old leftover did not carry over
  });

  it('gcra leases expire after leaseMs and their unused units are refunded', async () => {
    const { node, clock, globalRemaining } = setup([{ name: 'p', algorithm: 'gcra', limit: 10, windowMs: 3_600_000 }], 5, 50);
    const a = node();
    await a.limit('k', { cost: 2 });
    expect(globalRemaining('k')).toEqual([5]);
    expect(a.held('k')).toBe(3);
    clock.now += 50;
    await a.limit('k', { cost: 1 }); // expired lease: 3 refunded, a fresh chunk of 5 leased
    expect(globalRemaining('k')).toEqual([3]);
    expect(a.held('k')).toBe(4);
  });

  it('a cost above the chunk goes straight to the store', async () => {
    const { node, trips } = setup([{ name: 'p', algorithm: 'sliding-log', limit: 100, windowMs: 1_000 }], 4);
    expect(await node().limit('k', { cost: 9 })).toMatchObject({ ok: true, allowed: true, consumed: 9 });
    expect(trips()).toBe(1);
  });
});
