import { describe, expect, it } from 'vitest';
import { ExactEntitlementCounters } from './entitlement-exact.ts';

const E12 = 10n ** 12n;

describe('ExactEntitlementCounters', () => {
  it('stays exact beyond 2^53 (decimal quantities scaled by 10^12)', () => {
    const c = new ExactEntitlementCounters();
    const limit = 1_000_000n * E12; // one million units in 10^-12 steps: far past 2^53
    c.set('t:tokens', 'p', limit - 1n);
    expect(c.check('t:tokens', 'p', limit, 1n)).toEqual({ hasAccess: true, usage: limit - 1n, limit, remaining: 1n });
    expect(c.check('t:tokens', 'p', limit, 2n).hasAccess).toBe(false);
  });

  it('consumeAll is all or nothing across keys; soft items record regardless', () => {
    const c = new ExactEntitlementCounters();
    const items = [
      { key: 'a', period: 'p', limit: 10n, amount: 4n, hard: true },
      { key: 'b', period: 'p', limit: 5n, amount: 4n, hard: true },
      { key: 's', period: 'p', limit: 1n, amount: 4n, hard: false },
    ];
    expect(c.consumeAll(items).recorded).toBe(true);
    const denied = c.consumeAll(items);
    expect(denied.recorded).toBe(false);
    expect(denied.states.map((s) => [s.hasAccess, s.usage])).toEqual([[true, 4n], [false, 4n], [false, 4n]]);
    expect([c.usage('a', 'p'), c.usage('b', 'p'), c.usage('s', 'p')]).toEqual([4n, 4n, 4n]);
    const soft = c.consumeAll([items[2]!]);
    expect(soft).toEqual({ recorded: true, states: [{ hasAccess: false, usage: 8n, limit: 1n, remaining: 0n }] });
  });

  it('record is signed (reservations given back, corrections), a new period starts at zero', () => {
    const c = new ExactEntitlementCounters();
    expect(c.record('k', '2026-05', 7n)).toBe(7n);
    expect(c.record('k', '2026-05', -2n)).toBe(5n);
    expect(c.usage('k', '2026-06')).toBe(0n);
    expect(c.record('k', '2026-06', 1n)).toBe(1n);
    expect(c.delete('k')).toBe(true);
    expect(c.size).toBe(0);
  });

  it('rejects negative amounts for checks and is bounded', () => {
    const c = new ExactEntitlementCounters({ maxKeys: 1 });
    expect(() => c.check('k', 'p', 1n, -1n)).toThrow(RangeError);
    c.record('a', 'p', 1n);
    c.record('b', 'p', 1n);
    expect(c.dropped).toBe(1);
    expect(c.usage('a', 'p')).toBe(0n);
  });
});
