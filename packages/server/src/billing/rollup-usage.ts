import { parseQuantity } from '../shared/decimal.ts';
import type { EpochMicros } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { UsagePrice } from './rate-period.ts';
import { normaliseFilter } from './raw-usage.ts';

/**
 * What the rollups say a usage price's meter (with its filter) used per tenant over [from, to),
 * ×10^12: one query for all the tenants. The upcoming invoice bills from it; issued invoices
 * check their raw recomputation against it.
 */
export async function rollupUsageByTenant(queries: QueryService, tenants: readonly string[], p: UsagePrice, from: EpochMicros, to: EpochMicros): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (tenants.length === 0) return out;
  const filterGroupBy = normaliseFilter(p.filter);
  const r = await queries.query({ meter: p.meter, from, to, tenants: [...tenants], groupBy: ['tenant'], ...(filterGroupBy ? { filterGroupBy } : {}) });
  for (const row of r.data) out.set(row.tenant!, (out.get(row.tenant!) ?? 0n) + (row.value === null ? 0n : (parseQuantity(row.value) as bigint)));
  return out;
}
