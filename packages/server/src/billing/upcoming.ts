import { TallyError } from '../errors/registry.ts';
import type { PlanCatalog } from '../quota/catalog.ts';
import { parseQuantity, SCALE } from '../shared/decimal.ts';
import { formatMicros, type Clock } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import { formatAmount, minorDigits } from './money.ts';
import type { PriceConfig } from './pricing/price-schema.ts';
import { DEFAULT_BILLING, billingPeriodAt, type TenantBilling } from './profile.ts';
import { lineView, rate } from './rate.ts';

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
 * The upcoming invoice: the plan's prices over the open period's usage so far, read through
 * the query service (rollups: the speed layer, fast enough for a customer portal). Issued
 * invoices are recomputed by the batch layer from the raw events instead.
 */
export class UpcomingInvoices {
  constructor(
    private readonly catalog: PlanCatalog,
    private readonly profiles: ReadonlyMap<string, TenantBilling>,
    private readonly queries: QueryService,
    private readonly clock: Clock,
  ) {}

  async upcoming(tenant: string): Promise<UpcomingInvoice> {
    const plan = this.catalog.planOf(tenant);
    if (!plan) throw new TallyError('NOT_FOUND', `tenant "${tenant}" is on no plan (tenants[].plan in the config)`);
    const { currency, prices, minimumSpend } = plan.config;
    if (currency === undefined) throw new TallyError('NOT_FOUND', `plan "${plan.id}" has no prices: nothing is billed`);
    const now = this.clock.nowMicros();
    const period = billingPeriodAt(plan.config, this.profiles.get(tenant) ?? DEFAULT_BILLING, now);
    // Flat fees are charged for the whole period; usage prices for the usage so far.
    const quantities = await Promise.all(prices.map((p) => (p.model === 'flat' ? SCALE : this.usage(tenant, p, period.start, period.end))));
    const r = rate({ currency, prices, quantities, minimumSpend });
    const subtotal = formatAmount(r.subtotal, minorDigits(currency));
    return { tenant, plan: plan.id, currency, periodStart: formatMicros(period.start), periodEnd: formatMicros(period.end), asOf: formatMicros(now), status: 'upcoming', lines: r.lines.map((l) => lineView(l, currency)), subtotal, total: subtotal };
  }

  private async usage(tenant: string, p: Exclude<PriceConfig, { model: 'flat' }>, from: number, to: number): Promise<bigint> {
    const filterGroupBy = p.filter && Object.fromEntries(Object.entries(p.filter).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
    const r = await this.queries.query({ meter: p.meter, from, to, tenants: [tenant], ...(filterGroupBy ? { filterGroupBy } : {}) });
    return r.data.reduce((sum, row) => sum + (row.value === null ? 0n : (parseQuantity(row.value) as bigint)), 0n);
  }
}
