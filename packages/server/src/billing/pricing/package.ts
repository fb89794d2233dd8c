import { SCALE } from '../../shared/decimal.ts';
import { times } from '../money.ts';
import type { Pricer } from './pricer.ts';

/**
 * A price per started package of `size` units (1,000 tokens for 0.002): 1 unit costs one
 * package, 1,001 units two. No usage, no package.
 */
export function packagePricer(size: bigint, packagePrice: bigint): Pricer {
  return {
    price: (quantity) => {
      const packages = quantity <= 0n ? 0n : (quantity + size - 1n) / size;
      return { amountExact: times(packages * SCALE, packagePrice), tiers: [] };
    },
  };
}
