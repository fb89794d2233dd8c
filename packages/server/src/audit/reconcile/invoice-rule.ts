import type { InvoiceService } from '../../billing/invoice-service.ts';
import { rawUsage } from '../../billing/raw-usage.ts';
import type { MeterRegistry } from '../../meters/registry.ts';
import { formatScaled, parseQuantity } from '../../shared/decimal.ts';
import { parseRfc3339 } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import { compare, type ReconcileRule, type RuleResult } from './rule.ts';

const NAME = 'invoices.lines-vs-raw';

/**
 * `invoices.lines-vs-raw`: every usage line of every draft and finalized invoice bills the
 * quantity a recomputation from the raw events (minus voided ones) gives for its meter, filter,
 * tenant and period. A finalized invoice that a later correction or a late event disagrees with
 * shows here (it is corrected by a void and a new invoice, never rewritten).
 */
export function invoiceRule(invoices: InvoiceService, store: UsageStore, meters: MeterRegistry): ReconcileRule {
  return {
    name: NAME,
    description: 'per usage line of every draft and finalized invoice: the billed quantity equals the raw events recomputed',
    async check() {
      const results: RuleResult[] = [];
      for (const inv of await invoices.list({})) {
        if (inv.status === 'void') continue;
        for (const line of inv.lines) {
          if (line.kind !== 'usage' || line.meter === null || !meters.get(line.meter)) continue;
          const [raw] = await rawUsage(store, meters, inv.tenant, parseRfc3339(line.periodStart)!, parseRfc3339(line.periodEnd)!, [{ meter: line.meter, filter: line.filter }]);
          results.push(compare(NAME, { invoice: inv.id, number: inv.number ?? 'draft', tenant: inv.tenant, line: line.name }, raw!, parseQuantity(line.quantity) as bigint, line.meter, formatScaled));
        }
      }
      return results;
    },
  };
}
