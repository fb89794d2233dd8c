import { times } from '../money.ts';
import type { Pricer } from './pricer.ts';

/**
 * A fixed amount per billing period. The quantity is the share of the period the price was in
 * force (1 for a whole period, ×10^12): a plan change mid-period prorates it by time.
 */
export function flatPricer(amount: bigint): Pricer {
  return { price: (share) => ({ amountExact: times(share, amount), tiers: [] }) };
}
