import type { EpochMicros } from '../../shared/time.ts';

/** An allowance on an entitlement (OpenMeter's grants): immutable once made. Amounts ×10^12. */
export interface UsageGrant {
  readonly id: string;
  readonly amount: bigint;
  readonly effectiveAt: EpochMicros;
  /** Exclusive: not usable at or after it; `null` never expires. */
  readonly expiresAt: EpochMicros | null;
  /** Among grants expiring together, lower numbers are drawn first. */
  readonly priority: number;
}

/** Usage to draw from the grants, at an instant. */
export interface GrantUsage {
  readonly at: EpochMicros;
  readonly amount: bigint;
}

/** One line of a balance history. */
export type GrantHistoryEntry =
  | { kind: 'granted'; at: EpochMicros; grant: string; amount: bigint; balance: bigint }
  | { kind: 'usage'; at: EpochMicros; amount: bigint; drawn: { grant: string; amount: bigint }[]; overage: bigint; balance: bigint }
  | { kind: 'expired'; at: EpochMicros; grant: string; lost: bigint; balance: bigint };

/** The replay of a ledger up to an instant. */
export interface GrantLedgerState {
  /** What is left of each grant (expired ones keep what they lost). */
  remaining: Map<string, bigint>;
  /** Usage no grant covered. */
  overage: bigint;
  /** What the grants in effect at `until` still hold. */
  balance: bigint;
  history: GrantHistoryEntry[];
}

/** The order grants are drawn in: soonest-expiring first (never-expiring last), then priority, then oldest, then id — as billing's credits. */
export function drawOrder(a: UsageGrant, b: UsageGrant): number {
  return (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.priority - b.priority || a.effectiveAt - b.effectiveAt || a.id.localeCompare(b.id);
}

const active = (g: UsageGrant, at: EpochMicros) => g.effectiveAt <= at && (g.expiresAt === null || g.expiresAt > at);

/**
 * Replays grants and usage in time order up to `until` (inclusive): each usage draws from the
 * grants in effect at its instant in {@link drawOrder}, what none covers is overage; a grant that
 * expires with something left records what was lost. At one instant expiries come first (a grant
 * is not usable at its expiry), then new grants (usable from their effective instant), then usage
 * in the order given. Pure and exact (bigint), so a balance can be recomputed from the records.
 */
export function replayGrants(grants: readonly UsageGrant[], usages: readonly GrantUsage[], until: EpochMicros): GrantLedgerState {
  type Step = { at: EpochMicros; rank: number; seq: number; run: () => void };
  const remaining = new Map(grants.map((g) => [g.id, 0n]));
  const history: GrantHistoryEntry[] = [];
  let overage = 0n;
  const balanceAt = (at: EpochMicros) => grants.reduce((s, g) => (active(g, at) ? s + remaining.get(g.id)! : s), 0n);
  const steps: Step[] = [];
  grants.forEach((g, seq) => {
    steps.push({ at: g.effectiveAt, rank: 1, seq, run: () => (remaining.set(g.id, g.amount), history.push({ kind: 'granted', at: g.effectiveAt, grant: g.id, amount: g.amount, balance: balanceAt(g.effectiveAt) })) });
    if (g.expiresAt !== null && g.expiresAt > g.effectiveAt) {
      const at = g.expiresAt;
      steps.push({ at, rank: 0, seq, run: () => history.push({ kind: 'expired', at, grant: g.id, lost: remaining.get(g.id)!, balance: balanceAt(at) }) });
    }
  });
  const order = [...grants].sort(drawOrder);
  usages.forEach((u, seq) =>
    steps.push({
      at: u.at,
      rank: 2,
      seq,
      run: () => {
        let due = u.amount;
        const drawn: { grant: string; amount: bigint }[] = [];
        for (const g of order) {
          if (due <= 0n) break;
          const left = remaining.get(g.id)!;
          if (!active(g, u.at) || left <= 0n) continue;
          const take = left < due ? left : due;
          remaining.set(g.id, left - take);
          drawn.push({ grant: g.id, amount: take });
          due -= take;
        }
        overage += due;
        history.push({ kind: 'usage', at: u.at, amount: u.amount, drawn, overage: due, balance: balanceAt(u.at) });
      },
    }),
  );
  steps.sort((a, b) => a.at - b.at || a.rank - b.rank || a.seq - b.seq);
  for (const s of steps) if (s.at <= until) s.run();
  return { remaining, overage, balance: balanceAt(until), history };
}
