import { describe, expect, it } from 'vitest';
import { EntitlementCounters } from './entitlement.ts';

describe('EntitlementCounters', () => {
  it('hard limit: records only what fits, all or nothing', () => {
    const c = new EntitlementCounters();
    expect(c.consume('t1:api', '2025-06', 10, 7)).toEqual({ hasAccess: true, recorded: true, usage: 7, limit: 10, remaining: 3 });
    expect(c.consume('t1:api', '2025-06', 10, 4)).toEqual({ hasAccess: false, recorded: false, usage: 7, limit: 10, remaining: 3 });
    expect(c.consume('t1:api', '2025-06', 10, 3)).toMatchObject({ hasAccess: true, usage: 10, remaining: 0 });
    expect(c.check('t1:api', '2025-06', 10, 1)).toMatchObject({ hasAccess: false, usage: 10 });
    expect(c.check('t1:api', '2025-06', 10)).toMatchObject({ hasAccess: true }); // at the limit, nothing more asked
  });

  it('soft limit: always records, reports over-limit', () => {
    const c = new EntitlementCounters();
    c.consume('k', 'p', 5, 5, false);
    expect(c.consume('k', 'p', 5, 2, false)).toEqual({ hasAccess: false, recorded: true, usage: 7, limit: 5, remaining: 0 });
  });

  it('a new period starts from zero; set seeds usage from the batch layer', () => {
    const c = new EntitlementCounters();
    c.consume('k', '2025-06', 100, 60);
    expect(c.usage('k', '2025-07')).toBe(0);
    expect(c.consume('k', '2025-07', 100, 1).usage).toBe(1);
    c.set('k', '2025-07', 99);
    expect(c.consume('k', '2025-07', 100, 2).recorded).toBe(false);
  });

  it('integer amounts only, bounded key count', () => {
    const c = new EntitlementCounters({ maxKeys: 2 });
    expect(() => c.consume('k', 'p', 10, 0.1)).toThrow(RangeError);
    c.consume('a', 'p', 10, 1);
    c.consume('b', 'p', 10, 1);
    c.consume('c', 'p', 10, 1);
    expect(c.dropped).toBe(1);
    expect(c.usage('a', 'p')).toBe(0);
  });
});
