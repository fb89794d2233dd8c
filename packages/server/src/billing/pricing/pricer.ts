/**
 * One price model behind one interface (one file per model, `pricer-for.ts` picks it): a
 * pricer turns the exact quantity of one period into an exact amount and, for tiered models,
 * the tiers that produced it. Quantities and unit prices are ×10^12; amounts ×10^24
 * (`money.ts`). Rounding to the currency happens once, on the line, not here.
 */
export interface Pricer {
  price(quantity: bigint): Priced;
}

/** What a pricer computed. */
export interface Priced {
  /** Exact, ×10^24. */
  amountExact: bigint;
  /** Tiered models: each tier's share (all tiers for graduated, the one that applied for volume). */
  tiers: PricedTier[];
}

/** One tier's part of a tiered price. */
export interface PricedTier {
  /** Lower bound (exclusive; 0 for the first tier), ×10^12. */
  from: bigint;
  /** Upper bound (inclusive), ×10^12; null for the last tier. */
  to: bigint | null;
  /** Units priced in this tier, ×10^12. */
  quantity: bigint;
  unitPrice: bigint;
  /** The tier's flat amount when it applied, else null. ×10^12. */
  flatAmount: bigint | null;
  /** Exact, ×10^24. */
  amountExact: bigint;
}

/** A tier as configured, parsed: `upTo` inclusive (null: no upper bound). */
export interface Tier {
  upTo: bigint | null;
  unitPrice: bigint;
  flatAmount: bigint | null;
}
