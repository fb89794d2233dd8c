import { randomUUID } from 'node:crypto';
import type { MeterRegistry } from '../meters/registry.ts';
import type { Period } from '../quota/period.ts';
import { formatScaled, parseQuantity, SCALE } from '../shared/decimal.ts';
import { formatMicros, MICROS_PER_DAY, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { Invoice, InvoiceLine } from './invoice.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import { formatAmount, minorDigits, roundAmount } from './money.ts';
import { pricerFor } from './pricing/pricer-for.ts';
import type { PeriodPart, PlanTimeline } from './plan-timeline.ts';
import { ratePeriod, type UsagePrice } from './rate-period.ts';
import { normaliseFilter, rawUsage, rawUsageByTenant } from './raw-usage.ts';
import { rollupUsageByTenant } from './rollup-usage.ts';

/** Shared usage of one part of a period (raw totals and rollup totals per tenant), by part index. */
type PartUsage = (k: number, part: PeriodPart, prices: UsagePrice[]) => Promise<{ raw: Map<string, bigint[]>; rolled: Map<string, bigint>[] }>;

/** Billing policy from config. */
export interface BillingPolicy {
  /** A period is invoiced this long after it ends (late events inside it land on the invoice). */
  graceMicros: number;
  /** Late events are looked for in finalized periods this far back (the ingest backfill horizon). */
  backfillDays: number;
}

/** Everything the issuer reads and writes. */
export interface IssuerDeps {
  store: UsageStore;
  meters: MeterRegistry;
  queries: QueryService;
  timeline: PlanTimeline;
  repo: InvoiceRepo;
  policy: BillingPolicy;
}


/**
 * Issues invoices from raw events: for a tenant's ended period, every usage price is recomputed
 * from the raw events and cross-checked against the rollups (a mismatch blocks finalization and
 * is listed on the draft), flat prices are charged, and late events of earlier finalized periods
 * become adjustment lines (the finalized invoices never change).
 */
export class InvoiceIssuer {
  constructor(private readonly d: IssuerDeps) {}

  /** Tenants on a plan with their last period that ended at least the grace before `now`. */
  duePeriods(now: EpochMicros): { tenant: string; period: Period }[] {
    const out: { tenant: string; period: Period }[] = [];
    for (const tenant of this.d.timeline.tenants()) {
      const current = this.d.timeline.periodAt(tenant, now - this.d.policy.graceMicros);
      const previous = current && this.d.timeline.periodAt(tenant, current.start - 1);
      if (previous && this.d.timeline.parts(tenant, previous).some((p) => p.plan.currency !== undefined)) out.push({ tenant, period: previous });
    }
    return out;
  }

  /**
   * Drafts many tenants' periods (the job's run): tenants whose periods and plan parts coincide
   * share one raw scan per event type and one rollup query per price, instead of one per tenant.
   * `before` runs before each draft is stored (the job checks its lease there).
   */
  async draftMany(dues: readonly { tenant: string; period: Period }[], now: EpochMicros, before: () => Promise<void> = async () => undefined): Promise<Invoice[]> {
    const groups = new Map<string, { period: Period; tenants: string[] }>();
    for (const d of dues) {
      const parts = this.d.timeline.parts(d.tenant, d.period);
      const key = `${d.period.start}|${d.period.end}|${parts.map((p) => `${p.start}-${p.end}-${p.plan.id}`).join(',')}`;
      const g = groups.get(key) ?? { period: d.period, tenants: [] };
      g.tenants.push(d.tenant);
      groups.set(key, g);
    }
    const out: Invoice[] = [];
    for (const g of groups.values()) {
      const open: string[] = [];
      for (const t of g.tenants) if (((await this.d.repo.forPeriod(t, g.period.start))?.status ?? 'draft') === 'draft') open.push(t);
      const cache = new Map<number, Promise<{ raw: Map<string, bigint[]>; rolled: Map<string, bigint>[] }>>();
      const usage: PartUsage = (k, part, prices) => {
        let c = cache.get(k);
        if (!c) {
          c = (async () => ({
            raw: await rawUsageByTenant(this.d.store, this.d.meters, open, part.start, part.end, prices.map((p) => ({ meter: p.meter, filter: normaliseFilter(p.filter) }))),
            rolled: await Promise.all(prices.map((p) => rollupUsageByTenant(this.d.queries, open, p, part.start, part.end))),
          }))();
          cache.set(k, c);
        }
        return c;
      };
      for (const t of g.tenants) {
        await before();
        out.push(await this.draft(t, g.period, now, usage));
      }
    }
    return out;
  }

  /** Computes and stores the draft of a tenant's period (a finalized one is returned unchanged). */
  async draft(tenant: string, period: Period, now: EpochMicros, shared?: PartUsage): Promise<Invoice> {
    const existing = await this.d.repo.forPeriod(tenant, period.start);
    if (existing && existing.status !== 'draft') return existing;
    const parts = this.d.timeline.parts(tenant, period);
    const discrepancies: Invoice['discrepancies'] = [];
    let k = 0;
    // Usage of each part recomputed from raw events, and cross-checked with the rollups.
    const rated = await ratePeriod(parts, period, async (part, prices) => {
      const u = shared ? await shared(k++, part, prices) : { raw: new Map([[tenant, await rawUsage(this.d.store, this.d.meters, tenant, part.start, part.end, prices.map((p) => ({ meter: p.meter, filter: normaliseFilter(p.filter) })))]]), rolled: await Promise.all(prices.map((p) => rollupUsageByTenant(this.d.queries, [tenant], p, part.start, part.end))) };
      const raw = u.raw.get(tenant) ?? prices.map(() => 0n);
      for (const [i, p] of prices.entries()) {
        const rolled = u.rolled[i]!.get(tenant) ?? 0n;
        if (rolled !== raw[i]) discrepancies.push({ meter: p.meter, raw: formatScaled(raw[i]!), rollups: formatScaled(rolled) });
      }
      return raw;
    });
    if (!rated) throw new Error(`tenant "${tenant}" has no priced plan in ${formatMicros(period.start)} – ${formatMicros(period.end)}`);
    const { currency } = rated;
    const lines: InvoiceLine[] = rated.lines.map((l, i) => ({ id: `line_${i + 1}`, ...l }));
    const adjustments = await this.adjustments(tenant, currency, period.start, now);
    for (const a of adjustments) lines.push({ ...a, id: `line_${lines.length + 1}` });
    const minor = minorDigits(currency);
    const subtotal = lines.reduce((s, l) => s + parseAmount(l.amount), 0n);
    const total = formatAmount(subtotal, minor);
    const plan = [...new Set(parts.map((p) => p.plan.id))].join(' → ');
    return this.d.repo.saveDraft({ id: existing?.id ?? `inv_${randomUUID().replace(/-/g, '').slice(0, 20)}`, number: null, tenant, plan, currency, periodStart: period.start, periodEnd: period.end, status: 'draft', lines, subtotal: total, credits: formatAmount(0n, minor), total, reconciled: discrepancies.length === 0, discrepancies, createdAt: now, finalizedAt: null, voidedAt: null, creditNoteFor: null });
  }

  /**
   * Late events of earlier finalized periods (inside the backfill horizon): each usage line is
   * recomputed from the raw events; what it billed plus the adjustments finalized since is
   * compared, and the difference is priced with the price as billed (a tiered price re-prices the
   * whole period: new amount − billed amount).
   */
  private async adjustments(tenant: string, currency: string, before: EpochMicros, now: EpochMicros): Promise<Omit<InvoiceLine, 'id'>[]> {
    const horizon = now - this.d.policy.backfillDays * MICROS_PER_DAY;
    const all = await this.d.repo.list({ tenant });
    const finalized = all.filter((i) => i.status === 'finalized' && i.creditNoteFor === null);
    const out: Omit<InvoiceLine, 'id'>[] = [];
    for (const inv of finalized) {
      if (inv.periodStart >= before || inv.periodEnd <= horizon || inv.currency !== currency) continue;
      const usage = inv.lines.filter((l) => l.kind === 'usage' && l.price !== undefined && l.meter !== null);
      if (usage.length === 0) continue;
      const raw = await rawUsage(this.d.store, this.d.meters, tenant, inv.periodStart, inv.periodEnd, usage.map((l) => ({ meter: l.meter!, filter: l.filter })));
      usage.forEach((l, i) => {
        const billedLater = finalized.flatMap((o) => o.lines.filter((x) => x.kind === 'adjustment' && x.periodStart === l.periodStart && x.name === adjustmentName(l)));
        const billed = parseQuantity(l.quantity) as bigint;
        const adjusted = billedLater.reduce((s, x) => s + (parseQuantity(x.quantity) as bigint), 0n);
        const delta = raw[i]! - billed - adjusted;
        if (delta === 0n) return;
        const pricer = pricerFor(l.price!);
        const exact = pricer.price(raw[i]!).amountExact - pricer.price(billed + adjusted).amountExact;
        out.push({ kind: 'adjustment', name: adjustmentName(l), meter: l.meter, filter: l.filter, price: l.price!, quantity: formatScaled(delta), amount: formatAmount(roundAmount(exact, minorDigits(currency)), minorDigits(currency)), amountExact: formatAmount(exact), tiers: [], periodStart: l.periodStart, periodEnd: l.periodEnd });
      });
    }
    return out;
  }
}

/** The name of the adjustment line of a usage line (it ties later adjustments to the same line). */
function adjustmentName(l: InvoiceLine): string {
  return `Late usage: ${l.name} (${l.periodStart.slice(0, 10)} – ${l.periodEnd.slice(0, 10)})`;
}

/** A rounded amount string back to ×10^24. */
function parseAmount(s: string): bigint {
  return (parseQuantity(s) as bigint) * SCALE;
}
