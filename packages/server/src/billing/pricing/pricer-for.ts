import { flatPricer } from './flat.ts';
import { graduatedPricer } from './graduated.ts';
import { packagePricer } from './package.ts';
import type { PriceConfig } from './price-schema.ts';
import { parseTiers, scaledDecimal } from './price-schema.ts';
import type { Pricer } from './pricer.ts';
import { unitPricer } from './unit.ts';
import { volumePricer } from './volume.ts';

/** The pricer of a validated price (an exhaustive switch: a new model must be handled here). */
export function pricerFor(p: PriceConfig): Pricer {
  switch (p.model) {
    case 'flat':
      return flatPricer(scaledDecimal(p.amount));
    case 'unit':
      return unitPricer(scaledDecimal(p.unitPrice));
    case 'graduated':
      return graduatedPricer(parseTiers(p.tiers));
    case 'volume':
      return volumePricer(parseTiers(p.tiers));
    case 'package':
      return packagePricer(scaledDecimal(p.packageSize), scaledDecimal(p.packagePrice));
    default: {
      const never: never = p;
      throw new Error(`unknown price model ${JSON.stringify(never)}`);
    }
  }
}
