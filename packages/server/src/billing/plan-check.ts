import type { Problem } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { PriceConfig } from './pricing/price-schema.ts';

/** Aggregations a price can bill: usage must be a sum over the period (a time-weighted sum is one over time). */
export const BILLABLE_AGGREGATIONS: readonly string[] = ['COUNT', 'SUM', 'TIME_WEIGHTED_SUM'];

/**
 * Checks a plan's prices against the live meters (config or API): the meter exists and is
 * additive, and every filter key is one of its dimensions. Every problem by path.
 */
export function checkPrices(prices: readonly PriceConfig[], planIndex: number, meters: MeterRegistry): Problem[] {
  const problems: Problem[] = [];
  prices.forEach((p, j) => {
    if (p.model === 'flat') return;
    const path = `plans.${planIndex}.prices.${j}`;
    const meter = meters.get(p.meter);
    if (!meter) return void problems.push({ path: `${path}.meter`, message: `unknown meter "${p.meter}"` });
    if (!BILLABLE_AGGREGATIONS.includes(meter.def.aggregation)) problems.push({ path: `${path}.meter`, message: `meter "${p.meter}" is ${meter.def.aggregation}; prices need an additive meter (${BILLABLE_AGGREGATIONS.join(' or ')})` });
    for (const dim of Object.keys(p.filter ?? {})) {
      if (!meter.dimensions.includes(dim)) problems.push({ path: `${path}.filter.${dim}`, message: `meter "${p.meter}" has no dimension "${dim}" (it has: ${meter.dimensions.join(', ') || 'none'})` });
    }
  });
  return problems;
}
