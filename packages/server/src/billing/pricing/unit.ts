import { times } from '../money.ts';
import type { Pricer } from './pricer.ts';

/** Every unit at one price. */
export function unitPricer(unitPrice: bigint): Pricer {
  return { price: (quantity) => ({ amountExact: times(quantity, unitPrice), tiers: [] }) };
}
