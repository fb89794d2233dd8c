import { priceToAmount, times } from '../money.ts';
import type { Pricer, Tier } from './pricer.ts';

/**
 * All units at the price of the tier the total falls in (`from < total ≤ upTo`), plus that
 * tier's `flatAmount`. No usage costs nothing (no tier applies).
 */
export function volumePricer(tiers: readonly Tier[]): Pricer {
  return {
    price: (quantity) => {
      if (quantity <= 0n) return { amountExact: 0n, tiers: [] };
      let from = 0n;
      for (const t of tiers) {
        if (t.upTo === null || quantity <= t.upTo) {
          const amountExact = times(quantity, t.unitPrice) + (t.flatAmount === null ? 0n : priceToAmount(t.flatAmount));
          return { amountExact, tiers: [{ from, to: t.upTo, quantity, unitPrice: t.unitPrice, flatAmount: t.flatAmount, amountExact }] };
        }
        from = t.upTo;
      }
      throw new Error('volume tiers must end with a tier without upTo');
    },
  };
}
