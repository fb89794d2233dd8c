import { priceToAmount, times } from '../money.ts';
import type { Pricer, PricedTier, Tier } from './pricer.ts';

/**
 * Each tier's units at that tier's price (the first 10,000 at 0, the next at 0.0001…). A tier's
 * `flatAmount` is charged once when any of its units is used. Every tier is listed, used or not,
 * so an invoice shows the whole ladder.
 */
export function graduatedPricer(tiers: readonly Tier[]): Pricer {
  return {
    price: (quantity) => {
      let from = 0n;
      let total = 0n;
      const out: PricedTier[] = tiers.map((t) => {
        const cap = t.upTo === null ? quantity : t.upTo < quantity ? t.upTo : quantity;
        const inTier = cap > from ? cap - from : 0n;
        const flat = inTier > 0n && t.flatAmount !== null ? t.flatAmount : null;
        const amountExact = times(inTier, t.unitPrice) + (flat === null ? 0n : priceToAmount(flat));
        const tier: PricedTier = { from, to: t.upTo, quantity: inTier, unitPrice: t.unitPrice, flatAmount: flat, amountExact };
        total += amountExact;
        if (t.upTo !== null) from = t.upTo;
        return tier;
      });
      return { amountExact: total, tiers: out };
    },
  };
}
