import { describe, expect, it } from 'vitest';
import { describeStoreContract } from '../contract/store-contract.ts';
import { MemoryStore } from './memory-store.ts';
import type { Policy } from '../types.ts';

describeStoreContract('memory', (clock) => new MemoryStore({ clock }));

describe('MemoryStore bounds and expiry', () => {
  const policies: Policy[] = [{ name: 'p', algorithm: 'fixed-window', limit: 2, windowMs: 1_000 }];

  it('expires keys by an incremental sweep on calls, without timers', () => {
    let now = 1_000_000;
    const store = new MemoryStore({ clock: () => now, sweepEvery: 1, sweepGraceMs: 0 });
    for (let i = 0; i < 100; i += 1) store.apply({ key: `k${i}`, policies, cost: 1, mode: 'consume' });
    for (let i = 0; i < 50; i += 1) store.apply({ key: 'hot', policies, cost: 0, mode: 'peek' });
    expect(store.stats()).toMatchObject({ keys: 101, expired: 0 }); // live entries survive the sweep
    now += 1_000;
    expect(store.stats().keys).toBe(101); // nothing happens without calls: no timer exists
    for (let i = 0; i < 110; i += 1) store.apply({ key: 'hot', policies, cost: 1, mode: 'peek' });
    // 110 calls × 1 key examined ≥ one full pass over 101 keys.
    expect(store.stats()).toMatchObject({ expired: 100, evictedLive: 0 });
    expect(store.stats().keys).toBeLessThanOrEqual(1);
  });

  it('collects a key only after it has been expired for sweepGraceMs', () => {
    let now = 1_000_000;
    const store = new MemoryStore({ clock: () => now, sweepEvery: 1, sweepGraceMs: 500 });
    store.apply({ key: 'a', policies, cost: 1, mode: 'consume' }); // expires at 1_001_000
    now = 1_001_499;
    for (let i = 0; i < 5; i += 1) store.apply({ key: 'hot', policies, cost: 0, mode: 'peek' });
    expect(store.stats().expired).toBe(0);
    now = 1_001_500;
    for (let i = 0; i < 5; i += 1) store.apply({ key: 'hot', policies, cost: 0, mode: 'peek' });
    expect(store.stats().expired).toBe(1);
  });

  it('never holds more than maxKeys; evicts expired first, then oldest live, and reports it', () => {
    let now = 1_000_000;
    const store = new MemoryStore({ clock: () => now, maxKeys: 10, sweepGraceMs: 0 });
    for (let i = 0; i < 10; i += 1) store.apply({ key: `a${i}`, policies, cost: 1, mode: 'consume' });
    store.apply({ key: 'b0', policies, cost: 1, mode: 'consume' });
    expect(store.stats()).toMatchObject({ keys: 10, evictedLive: 1 });
    now += 1_000;
    for (let i = 1; i < 5; i += 1) store.apply({ key: `b${i}`, policies, cost: 1, mode: 'consume' });
    expect(store.stats().keys).toBeLessThanOrEqual(10);
    expect(store.stats().evictedLive).toBe(1);
  });

  it('a multi-policy call never loses its own counters to eviction', () => {
    const two: Policy[] = [
      { name: 'a', algorithm: 'fixed-window', limit: 1, windowMs: 60_000 },
      { name: 'b', algorithm: 'sliding-log', limit: 1, windowMs: 60_000 },
    ];
    const store = new MemoryStore({ clock: () => 5_000, maxKeys: 1 });
    expect(store.apply({ key: 'x', policies: two, cost: 1, mode: 'consume' }).allowed).toBe(true);
    expect(store.apply({ key: 'x', policies: two, cost: 1, mode: 'consume' }).allowed).toBe(false);
    expect(store.stats()).toMatchObject({ keys: 1, evictedLive: 0 });
  });
});
