import { TallyError } from '../errors/registry.ts';
import { formatMicros, type Clock } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import { formatAmount, minorDigits } from './money.ts';
import type { PlanTimeline } from './plan-timeline.ts';
import { ratePeriod } from './rate-period.ts';
import { rollupUsageByTenant } from './rollup-usage.ts';

/** The live draft of a tenant's open period, as the API shows it. */
export interface UpcomingInvoice {
  tenant: string;
  plan: string;
  currency: string;
  periodStart: string;
  periodEnd: string;
  /** When the usage was read: the draft is what the tenant owes if the period ended now. */
  asOf: string;
  status: 'upcoming';
  lines: Record<string, unknown>[];
  subtotal: string;
  total: string;
}

/**
 * The upcoming invoice: the prices of the plan(s) of the open period over its usage so far, read
 * through the query service (rollups: the speed layer, fast enough for a customer portal).
 * Issued invoices are recomputed by the batch layer from the raw events instead.
 */
export class UpcomingInvoices {
  constructor(
    private readonly timeline: PlanTimeline,
    private readonly queries: QueryService,
    private readonly clock: Clock,
    /** Brings the timeline up to date with plan changes made through the API. */
    private readonly refresh: () => Promise<void> = async () => undefined,
  ) {}

  async upcoming(tenant: string): Promise<UpcomingInvoice> {
    await this.refresh();
    const now = this.clock.nowMicros();
    const period = this.timeline.periodAt(tenant, now);
    if (!period) throw new TallyError('NOT_FOUND', `tenant "${tenant}" is on no plan (tenants[].plan in the config)`);
    const parts = this.timeline.parts(tenant, period);
    // Flat prices for the whole period (each plan for its part); usage prices over the usage so far.
    const rated = await ratePeriod(parts, period, (part, prices) => Promise.all(prices.map(async (p) => (await rollupUsageByTenant(this.queries, [tenant], p, part.start, part.end)).get(tenant) ?? 0n)));
    if (!rated) throw new TallyError('NOT_FOUND', `the plan of tenant "${tenant}" has no prices: nothing is billed`);
    const subtotal = formatAmount(rated.subtotal, minorDigits(rated.currency));
    const plan = [...new Set(parts.map((p) => p.plan.id))].join(' → ');
    return { tenant, plan, currency: rated.currency, periodStart: formatMicros(period.start), periodEnd: formatMicros(period.end), asOf: formatMicros(now), status: 'upcoming', lines: rated.lines.map(({ price: _price, filter: _filter, ...l }) => l), subtotal, total: subtotal };
  }
}
