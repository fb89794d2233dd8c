import { randomUUID } from 'node:crypto';
import type { MeterRegistry } from '../meters/registry.ts';
import type { Period } from '../quota/period.ts';
import { formatScaled, parseQuantity, SCALE } from '../shared/decimal.ts';
import { formatMicros, MICROS_PER_DAY, parseRfc3339, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { Invoice, InvoiceLine } from './invoice.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import { formatAmount, minorDigits, roundAmount } from './money.ts';
import { pricerFor } from './pricing/pricer-for.ts';
import type { PeriodPart, PlanTimeline } from './plan-timeline.ts';
import { ratePeriod, type UsagePrice } from './rate-period.ts';
import { rawUsage, rawUsageByTenant } from './raw-usage.ts';
import { rollupUsageByTenant } from './rollup-usage.ts';

/** Usage of one part of a period per price, per tenant (×10^12), shared by the tenants of a group, by part index. */
type PartUsage = (k: number, part: PeriodPart, prices: UsagePrice[]) => Promise<Map<string, bigint>[]>;

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
 * Issues invoices: for a tenant's ended period, every usage price is read from the exact rollups
 * (one query per price for all tenants of a run), flat prices are charged, and late events of
 * earlier finalized periods become adjustment lines recomputed from the raw events (the
 * finalized invoices never change). Before a draft is finalized, {@link InvoiceIssuer.verify}
 * recomputes its usage from the raw events; a mismatch blocks finalization and is listed on it.
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
   * share one rollup query per price (all their tenants at once) instead of one per tenant, and
   * the stored invoices are read once for all of them. `before` runs before each draft is stored
   * (the job checks its lease there).
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
    const finalized = await this.finalizedInHorizon(now);
    const out: Invoice[] = [];
    for (const g of groups.values()) {
      const stored = new Map((await this.d.repo.list({ from: g.period.start, to: g.period.start + 1 })).filter((i) => i.creditNoteFor === null).map((i) => [i.tenant, i]));
      const open = g.tenants.filter((t) => (stored.get(t)?.status ?? 'draft') === 'draft');
      const cache = new Map<number, Promise<Map<string, bigint>[]>>();
      const usage: PartUsage = (k, part, prices) => {
        let c = cache.get(k);
        if (!c) cache.set(k, (c = Promise.all(prices.map((p) => rollupUsageByTenant(this.d.queries, open, p, part.start, part.end)))));
        return c;
      };
      const drafts: Invoice[] = [];
      for (const t of g.tenants) {
        const existing = stored.get(t);
        if (existing && existing.status !== 'draft') out.push(existing);
        else drafts.push(await this.compute(t, g.period, now, existing, usage, finalized.get(t) ?? []));
      }
      // Stored in batches (a batch is one unit of work), the lease checked before each.
      for (let k = 0; k < drafts.length; k += 500) {
        await before();
        out.push(...(await this.d.repo.saveDrafts(drafts.slice(k, k + 500))));
      }
    }
    return out;
  }

  /**
   * Computes and stores the draft of a tenant's period (a finalized one is returned unchanged).
   * Usage comes from the rollups (exact decimals, corrections retracted; the query service falls
   * back to raw events where a rollup cannot answer); {@link verify} checks it against the raw
   * events before finalization.
   */
  async draft(tenant: string, period: Period, now: EpochMicros): Promise<Invoice> {
    const existing = await this.d.repo.forPeriod(tenant, period.start);
    if (existing && existing.status !== 'draft') return existing;
    const usage: PartUsage = (_k, part, prices) => Promise.all(prices.map((p) => rollupUsageByTenant(this.d.queries, [tenant], p, part.start, part.end)));
    return this.d.repo.saveDraft(await this.compute(tenant, period, now, existing, usage, (await this.finalizedInHorizon(now, tenant)).get(tenant) ?? []));
  }

  /** A tenant's draft of a period (not stored). */
  private async compute(tenant: string, period: Period, now: EpochMicros, existing: Invoice | undefined, usage: PartUsage, finalized: Invoice[]): Promise<Invoice> {
    const parts = this.d.timeline.parts(tenant, period);
    let k = 0;
    const rated = await ratePeriod(parts, period, async (part, prices) => (await usage(k++, part, prices)).map((m) => m.get(tenant) ?? 0n));
    if (!rated) throw new Error(`tenant "${tenant}" has no priced plan in ${formatMicros(period.start)} – ${formatMicros(period.end)}`);
    const { currency } = rated;
    const lines: InvoiceLine[] = rated.lines.map((l, i) => ({ id: `line_${i + 1}`, ...l }));
    const adjustments = await this.adjustments(tenant, currency, period.start, now, finalized);
    for (const a of adjustments) lines.push({ ...a, id: `line_${lines.length + 1}` });
    const minor = minorDigits(currency);
    const subtotal = lines.reduce((s, l) => s + parseAmount(l.amount), 0n);
    const total = formatAmount(subtotal, minor);
    const plan = [...new Set(parts.map((p) => p.plan.id))].join(' → ');
    return { id: existing?.id ?? `inv_${randomUUID().replace(/-/g, '').slice(0, 20)}`, number: null, tenant, plan, currency, periodStart: period.start, periodEnd: period.end, status: 'draft', lines, subtotal: total, credits: formatAmount(0n, minor), total, reconciled: true, discrepancies: [], createdAt: now, finalizedAt: null, voidedAt: null, creditNoteFor: null };
  }

  /**
   * The batch layer's check before finalization: every usage line of each draft recomputed from
   * the raw events (without voided ones), tenants whose lines cover the same stretches and
   * prices sharing one raw scan per event type. A line whose raw quantity differs from the
   * billed (rollup) quantity marks the draft unreconciled, with the discrepancy stored on it;
   * finalization refuses it. Returns the drafts as stored after the check.
   */
  async verify(drafts: readonly Invoice[]): Promise<Invoice[]> {
    const groups = new Map<string, Invoice[]>();
    for (const inv of drafts) {
      if (inv.status !== 'draft') continue;
      const key = JSON.stringify(usageLines(inv).map((l) => [l.periodStart, l.periodEnd, l.meter, l.filter]));
      groups.set(key, [...(groups.get(key) ?? []), inv]);
    }
    const out = new Map<string, Invoice>();
    for (const invs of groups.values()) {
      const lines = usageLines(invs[0]!);
      const tenants = invs.map((i) => i.tenant);
      const raw = new Map<string, bigint[]>(tenants.map((t) => [t, []]));
      // One raw scan per stretch (a plan change splits a period into stretches) for all tenants.
      const stretches = [...new Set(lines.map((l) => `${l.periodStart}|${l.periodEnd}`))];
      for (const st of stretches) {
        const at = lines.flatMap((l, i) => (`${l.periodStart}|${l.periodEnd}` === st ? [i] : []));
        const [from, to] = st.split('|').map((x) => parseRfc3339(x)!);
        const sums = await rawUsageByTenant(this.d.store, this.d.meters, tenants, from!, to!, at.map((i) => ({ meter: lines[i]!.meter!, filter: lines[i]!.filter })));
        for (const t of tenants) at.forEach((i, j) => (raw.get(t)![i] = sums.get(t)![j]!));
      }
      for (const inv of invs) {
        const discrepancies: Invoice['discrepancies'] = [];
        usageLines(inv).forEach((l, i) => {
          const r = raw.get(inv.tenant)![i]!;
          if (r !== (parseQuantity(l.quantity) as bigint)) discrepancies.push({ meter: l.meter!, raw: formatScaled(r), rollups: l.quantity });
        });
        out.set(inv.id, discrepancies.length === 0 ? inv : await this.d.repo.saveDraft({ ...inv, reconciled: false, discrepancies }));
      }
    }
    return drafts.map((d) => out.get(d.id) ?? d);
  }

  /** Finalized invoices (not credit notes) whose period may still get late events, per tenant. */
  private async finalizedInHorizon(now: EpochMicros, tenant?: string): Promise<Map<string, Invoice[]>> {
    // Periods are at most 31 days long: any period ending after the horizon starts after this.
    const from = now - (this.d.policy.backfillDays + 32) * MICROS_PER_DAY;
    const out = new Map<string, Invoice[]>();
    for (const inv of await this.d.repo.list({ status: 'finalized', from, ...(tenant === undefined ? {} : { tenant }) })) {
      if (inv.creditNoteFor === null) out.set(inv.tenant, [...(out.get(inv.tenant) ?? []), inv]);
    }
    return out;
  }

  /**
   * Late events of earlier finalized periods (inside the backfill horizon): each usage line is
   * recomputed from the raw events; what it billed plus the adjustments finalized since is
   * compared, and the difference is priced with the price as billed (a tiered price re-prices the
   * whole period: new amount − billed amount).
   */
  private async adjustments(tenant: string, currency: string, before: EpochMicros, now: EpochMicros, finalized: readonly Invoice[]): Promise<Omit<InvoiceLine, 'id'>[]> {
    const horizon = now - this.d.policy.backfillDays * MICROS_PER_DAY;
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

/** The usage lines of an invoice (the lines a raw recomputation checks). */
function usageLines(inv: Invoice): InvoiceLine[] {
  return inv.lines.filter((l) => l.kind === 'usage' && l.meter !== null);
}

/** A rounded amount string back to ×10^24. */
function parseAmount(s: string): bigint {
  return (parseQuantity(s) as bigint) * SCALE;
}
