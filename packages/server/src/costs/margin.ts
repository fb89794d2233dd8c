import type { InvoiceService } from '../billing/invoice-service.ts';
import { minorDigits } from '../billing/money.ts';
import type { UpcomingInvoices } from '../billing/upcoming.ts';
import { TallyError } from '../errors/registry.ts';
import type { Clock } from '../shared/time.ts';
import { fromMinor, toMinor } from './allocate.ts';
import type { CostService } from './cost-service.ts';
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
}

/** Margin per tenant and per plan. */
export interface MarginReport {
  period: string;
  from: string;
  to: string;
  revenueBasis: string;
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
  ) {}

  async margin(period: CostPeriod): Promise<MarginReport> {
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
      const currency = rev?.currency ?? costs[0]?.currency ?? null;
      const mixed = costs.some((c) => c.currency !== currency);
      const digits = currency ? minorDigits(currency) : 2;
      const costMinor = mixed ? null : costs.reduce((s, c) => s + toMinor(c.amount, digits), 0n);
      const revMinor = rev?.minor ?? 0n;
      const margin = costMinor === null ? null : revMinor - costMinor;
      rows.push({
        tenant: t,
        plan,
        currency,
        revenue: rev ? fromMinor(rev.minor, digits) : currency ? fromMinor(0n, digits) : null,
        revenueSource: rev?.source ?? 'none',
        cost: costMinor === null ? null : fromMinor(costMinor, digits),
        margin: margin === null ? null : fromMinor(margin, digits),
        flagged: margin !== null && margin < 0n,
        note: mixed ? `costs in ${[...new Set(costs.map((c) => c.currency))].join(', ')} and revenue in ${currency}: no margin without an exchange rate` : null,
      });
    }
    return { period: period.label, ...periodBounds(period), revenueBasis: 'invoice subtotal (billed, before prepaid credit) of periods starting in the month: finalized, else draft, else (open period) the upcoming invoice', tenants: rows, plans: byPlan(rows) };
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
