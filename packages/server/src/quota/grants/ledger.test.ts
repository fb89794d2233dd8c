import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replayGrants, type GrantUsage, type UsageGrant } from './ledger.ts';

/**
 * An independent recomputation: unit by unit, each unit of usage picks its grant afresh by a
 * linear scan (no sorting, no chunked draws), with the rules written out as comparisons.
 */
function byUnits(grants: readonly UsageGrant[], usages: readonly GrantUsage[], until: number): { left: Map<string, bigint>; overage: bigint } {
  const left = new Map(grants.map((g) => [g.id, 0n]));
  const started = new Set<string>();
  const events = usages.map((u, i) => ({ u, i })).filter(({ u }) => u.at <= until).sort((a, b) => a.u.at - b.u.at || a.i - b.i);
  let overage = 0n;
  for (const { u } of events) {
    for (const g of grants) {
      if (g.effectiveAt > u.at || started.has(g.id)) continue;
      started.add(g.id);
      left.set(g.id, g.amount);
    }
    for (let unit = 0n; unit < u.amount; unit++) {
      let best: UsageGrant | undefined;
      for (const g of grants) {
        const usable = g.effectiveAt <= u.at && (g.expiresAt === null || u.at < g.expiresAt) && left.get(g.id)! > 0n;
        if (!usable) continue;
        if (best === undefined) best = g;
        else {
          const ge = g.expiresAt ?? Number.MAX_SAFE_INTEGER;
          const be = best.expiresAt ?? Number.MAX_SAFE_INTEGER;
          if (ge < be || (ge === be && (g.priority < best.priority || (g.priority === best.priority && (g.effectiveAt < best.effectiveAt || (g.effectiveAt === best.effectiveAt && g.id < best.id)))))) best = g;
        }
      }
      if (best === undefined) overage++;
      else left.set(best.id, left.get(best.id)! - 1n);
    }
  }
  for (const g of grants) if (g.effectiveAt <= until && !started.has(g.id)) left.set(g.id, g.amount);
  return { left, overage };
}

const grantArb = fc.record({
  amount: fc.bigInt({ min: 0n, max: 30n }),
  effectiveAt: fc.integer({ min: 0, max: 50 }),
  life: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
  priority: fc.integer({ min: 0, max: 3 }),
});

describe('grant ledger', () => {
  it('matches a unit-by-unit recomputation for random grants, expiries, priorities and usage', () => {
    fc.assert(
      fc.property(fc.array(grantArb, { maxLength: 6 }), fc.array(fc.record({ at: fc.integer({ min: 0, max: 110 }), amount: fc.bigInt({ min: 0n, max: 25n }) }), { maxLength: 12 }), fc.integer({ min: 0, max: 120 }), (gs, usages, until) => {
        const grants: UsageGrant[] = gs.map((g, i) => ({ id: `g${i}`, amount: g.amount, effectiveAt: g.effectiveAt, expiresAt: g.life === null ? null : g.effectiveAt + g.life, priority: g.priority }));
        const r = replayGrants(grants, usages, until);
        const want = byUnits(grants, usages, until);
        expect(r.overage).toBe(want.overage);
        for (const g of grants) expect([g.id, r.remaining.get(g.id)]).toEqual([g.id, want.left.get(g.id)]);
        const expectBalance = grants.reduce((s, g) => (g.effectiveAt <= until && (g.expiresAt === null || g.expiresAt > until) ? s + want.left.get(g.id)! : s), 0n);
        expect(r.balance).toBe(expectBalance);
        // The history accounts for every unit: granted = drawn + what is left + what expired unused.
        const granted = r.history.reduce((s, h) => (h.kind === 'granted' ? s + h.amount : s), 0n);
        const drawn = r.history.reduce((s, h) => (h.kind === 'usage' ? s + h.drawn.reduce((a, d) => a + d.amount, 0n) : s), 0n);
        const lost = r.history.reduce((s, h) => (h.kind === 'expired' ? s + h.lost : s), 0n);
        const leftAtEnd = grants.reduce((s, g) => (g.effectiveAt <= until && !(g.expiresAt !== null && g.expiresAt <= until && g.expiresAt > g.effectiveAt) ? s + r.remaining.get(g.id)! : s), 0n);
        expect(granted).toBe(drawn + lost + leftAtEnd);
      }),
      { numRuns: 2_000 },
    );
  });

  it('draws soonest-expiring first, then by priority, and records the history with balances', () => {
    const grants: UsageGrant[] = [
      { id: 'forever', amount: 100n, effectiveAt: 0, expiresAt: null, priority: 0 },
      { id: 'late', amount: 10n, effectiveAt: 0, expiresAt: 50, priority: 1 },
      { id: 'soon', amount: 10n, effectiveAt: 0, expiresAt: 20, priority: 5 },
      { id: 'soon-first', amount: 5n, effectiveAt: 0, expiresAt: 20, priority: 1 },
    ];
    const r = replayGrants(grants, [{ at: 10, amount: 12n }, { at: 30, amount: 20n }], 60);
    expect(r.history.filter((h) => h.kind === 'usage')).toEqual([
      { kind: 'usage', at: 10, amount: 12n, drawn: [{ grant: 'soon-first', amount: 5n }, { grant: 'soon', amount: 7n }], overage: 0n, balance: 113n },
      { kind: 'usage', at: 30, amount: 20n, drawn: [{ grant: 'late', amount: 10n }, { grant: 'forever', amount: 10n }], overage: 0n, balance: 90n },
    ]);
    expect(r.history.filter((h) => h.kind === 'expired')).toEqual([
      { kind: 'expired', at: 20, grant: 'soon', lost: 3n, balance: 110n },
      { kind: 'expired', at: 20, grant: 'soon-first', lost: 0n, balance: 110n },
      { kind: 'expired', at: 50, grant: 'late', lost: 0n, balance: 90n },
    ]);
    expect(r.balance).toBe(90n);
  });
});
