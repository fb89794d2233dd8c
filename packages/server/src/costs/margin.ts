import type { InvoiceService } from '../billing/invoice-service.ts';
import { minorDigits } from '../billing/money.ts';
import type { UpcomingInvoices } from '../billing/upcoming.ts';
import { TallyError } from '../errors/registry.ts';
import type { Clock } from '../shared/time.ts';
import { fromMinor, toMinor } from './allocate.ts';
import type { CostService } from './cost-service.ts';
import { ExchangeRates, type AppliedRate } from './exchange.ts';
import { periodBounds, type CostPeriod } from './period.ts';

/** Where a tenant's revenue figure comes from. */
export type RevenueSource = 'finalized' | 'draft' | 'upcoming' | 'none';

/** One tenant's unit economics for a period. */
export interface TenantMargin {
  tenant: string;
  plan: string | null;
  currency: string | null;
  revenue: string | null;
  revenueSource: RevenueSource;
  cost: string | null;
  /** revenue − cost; null when they are in different currencies (see `note`). */
  margin: string | null;
  /** Cost exceeds revenue. */
  flagged: boolean;
  note: string | null;
  /** The exchange rates applied to this tenant's costs or revenue (empty when all were in `currency`). */
  conversions: AppliedRate[];
}

/** Margin per tenant and per plan. */
export interface MarginReport {
  period: string;
  from: string;
  to: string;
  revenueBasis: string;
  /** The reporting currency asked for (every tenant's figures in it), or null: each tenant's revenue currency. */
  currency: string | null;
  exchangeRateBasis: string;
  tenants: TenantMargin[];
  plans: { plan: string; currency: string; revenue: string; cost: string; margin: string; tenants: number; flagged: number }[];
}

/**
 * Unit economics: revenue per tenant from its invoices of periods starting in the month — the
 * finalized invoice's subtotal (billed, before prepaid credit) where one exists, else the draft's,
 * else for the open period the upcoming invoice — minus its attributed cost.
 */
export class MarginService {
  constructor(
    private readonly costs: CostService,
    private readonly tenants: readonly { id: string; plan?: string | undefined }[],
    private readonly clock: Clock,
    private readonly invoices?: InvoiceService,
    private readonly upcoming?: UpcomingInvoices,
    private readonly rates: ExchangeRates = new ExchangeRates([]),
  ) {}

  /** Margins for a month; with `currency`, every tenant's revenue and cost converted into it. */
  async margin(period: CostPeriod, currency?: string): Promise<MarginReport> {
    const report = await this.costs.attribute(period);
    const revenue = new Map<string, { plan: string; currency: string; minor: bigint; source: RevenueSource }>();
    for (const inv of (await this.invoices?.list({ from: period.start, to: period.end })) ?? []) {
      if (inv.creditNoteFor !== null || inv.status === 'void') continue;
      const source: RevenueSource = inv.status === 'finalized' ? 'finalized' : 'draft';
      const cur = revenue.get(inv.tenant);
      // A finalized invoice outranks a draft; several periods in one month add up.
      if (cur && cur.source === 'finalized' && source === 'draft') continue;
      const minor = toMinor(inv.subtotal, minorDigits(inv.currency));
      if (cur && cur.source === source && cur.currency === inv.currency) cur.minor += minor;
      else revenue.set(inv.tenant, { plan: inv.plan, currency: inv.currency, minor, source });
    }
    const now = this.clock.nowMicros();
    const tenantIds = new Set([...this.tenants.map((t) => t.id), ...report.tenants.map((t) => t.tenant), ...revenue.keys()]);
    if (this.upcoming && now >= period.start && now < period.end) {
      for (const t of tenantIds) {
        if (revenue.has(t)) continue;
        try {
          const u = await this.upcoming.upcoming(t);
          revenue.set(t, { plan: u.plan, currency: u.currency, minor: toMinor(u.subtotal, minorDigits(u.currency)), source: 'upcoming' });
        } catch (err) {
          if (!(err instanceof TallyError && err.code === 'NOT_FOUND')) throw err;
        }
      }
    }
    const rows: TenantMargin[] = [];
    for (const t of [...tenantIds].sort()) {
      const costs = report.tenants.filter((c) => c.tenant === t);
      const rev = revenue.get(t);
      const plan = rev?.plan ?? this.tenants.find((c) => c.id === t)?.plan ?? null;
      const target = currency ?? rev?.currency ?? costs[0]?.currency ?? null;
      const digits = target ? minorDigits(target) : 2;
      const conversions = new Map<string, AppliedRate>();
      const missing = new Set<string>();
      // Amounts in another currency are converted at the rate in effect when the period starts.
      const inTarget = (amount: string, from: string): bigint | null => {
        const c = this.rates.convert(amount, from, target!, period.start);
        if (!c) return missing.add(from), null;
        if (from !== target) conversions.set(`${c.rate.from}>${c.rate.to}`, c.rate);
        return toMinor(c.amount, digits);
      };
      const costParts = costs.map((c) => inTarget(c.amount, c.currency));
      const costMinor = costParts.includes(null) ? null : costParts.reduce<bigint>((s, v) => s + v!, 0n);
      const revMinor = rev ? (rev.currency === target ? rev.minor : inTarget(fromMinor(rev.minor, minorDigits(rev.currency)), rev.currency)) : 0n;
      const margin = costMinor === null || revMinor === null ? null : revMinor - costMinor;
      rows.push({
        tenant: t,
        plan,
        currency: target,
        revenue: revMinor === null ? null : rev || target ? fromMinor(revMinor, digits) : null,
        revenueSource: rev?.source ?? 'none',
        cost: costMinor === null ? null : fromMinor(costMinor, digits),
        margin: margin === null ? null : fromMinor(margin, digits),
        flagged: margin !== null && margin < 0n,
        note: missing.size > 0 ? `no exchange rate from ${[...missing].join(', ')} to ${target} in effect at ${periodBounds(period).from}: no margin (add one under exchangeRates)` : null,
        conversions: [...conversions.values()],
      });
    }
    const exchangeRateBasis = 'amounts in another currency are converted at the configured rate in effect at the start of the period (a pair configured the other way is divided by), rounded once half-even to the minor unit of the target currency; each tenant lists the rates applied';
    return { period: period.label, ...periodBounds(period), currency: currency ?? null, exchangeRateBasis, revenueBasis: 'invoice subtotal (billed, before prepaid credit) of periods starting in the month: finalized, else draft, else (open period) the upcoming invoice', tenants: rows, plans: byPlan(rows) };
  }
}

function byPlan(rows: TenantMargin[]): MarginReport['plans'] {
  const m = new Map<string, { plan: string; currency: string; rev: bigint; cost: bigint; digits: number; tenants: number; flagged: number }>();
  for (const r of rows) {
    if (r.plan === null || r.currency === null || r.cost === null || r.revenue === null) continue;
    const k = `${r.plan}\u0000${r.currency}`;
    const digits = minorDigits(r.currency);
    let e = m.get(k);
    if (!e) m.set(k, (e = { plan: r.plan, currency: r.currency, rev: 0n, cost: 0n, digits, tenants: 0, flagged: 0 }));
    e.rev += toMinor(r.revenue, digits);
    e.cost += toMinor(r.cost, digits);
    e.tenants++;
    if (r.flagged) e.flagged++;
  }
  return [...m.values()].map((e) => ({ plan: e.plan, currency: e.currency, revenue: fromMinor(e.rev, e.digits), cost: fromMinor(e.cost, e.digits), margin: fromMinor(e.rev - e.cost, e.digits), tenants: e.tenants, flagged: e.flagged }));
}
