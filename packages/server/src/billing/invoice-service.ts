import { scanEffective } from '../audit/corrections/effective-events.ts';
import { randomUUID } from 'node:crypto';
import { TallyError } from '../errors/registry.ts';
import type { EventRecord } from '../events/event.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { parseRfc3339, type Clock } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { Invoice, InvoiceStatus } from './invoice.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import { assertReconciled } from './finalize.ts';
import { CREDIT_NOTE_ISSUER, INVOICE_ISSUER } from './numbering.ts';
import { inCurrency, remaining, type CreditGrant } from './credits.ts';
import { minorDigits } from './money.ts';
import { parseQuantity } from '../shared/decimal.ts';
import { invoicePdf } from './pdf.ts';

const negate = (s: string) => (s.startsWith('-') ? s.slice(1) : /^0(\.0*)?$/.test(s) ? s : `-${s}`);

/** Issued invoices: read, finalize, void (a credit note), and the raw events behind a line. */
export class InvoiceService {
  constructor(
    private readonly repo: InvoiceRepo,
    private readonly store: UsageStore,
    private readonly meters: MeterRegistry,
    private readonly clock: Clock,
    private readonly issuerName = 'Tally',
    private readonly creditNotes: 'credit' | 'refund' = 'credit',
    /** The raw-event check before finalization (`InvoiceIssuer.verify`); absent: the stored flag decides. */
    private readonly verify?: (drafts: Invoice[]) => Promise<Invoice[]>,
  ) {}

  /** Grants prepaid credit to a tenant (immutable; corrections are new grants). */
  async grantCredit(tenant: string, g: { amount: string; currency: string; effectiveAt?: number; expiresAt?: number; priority?: number; reason: string }): Promise<CreditGrant> {
    const now = this.clock.nowMicros();
    const amount = parseQuantity(g.amount);
    const digits = minorDigits(g.currency);
    if (typeof amount !== 'bigint' || amount <= 0n) throw new TallyError('VALIDATION_FAILED', `amount: "${g.amount}" must be a decimal greater than 0`, [{ path: 'body.amount', message: 'must be > 0' }]);
    if (amount % 10n ** BigInt(12 - digits) !== 0n) throw new TallyError('VALIDATION_FAILED', `amount: ${g.currency} has ${digits} decimals; "${g.amount}" has more`, [{ path: 'body.amount', message: `at most ${digits} decimals` }]);
    const effectiveAt = g.effectiveAt ?? now;
    if (g.expiresAt !== undefined && g.expiresAt <= effectiveAt) throw new TallyError('VALIDATION_FAILED', 'expiresAt must be after effectiveAt', [{ path: 'body.expiresAt', message: 'must be after effectiveAt' }]);
    const grant: CreditGrant = { id: `crd_${randomUUID().replace(/-/g, '').slice(0, 20)}`, tenant, currency: g.currency, amount: inCurrency(amount, g.currency), effectiveAt, expiresAt: g.expiresAt ?? null, priority: g.priority ?? 0, reason: g.reason, source: null, createdAt: now };
    await this.repo.grantCredit(grant);
    return grant;
  }

  /** A tenant's grants with what is left of each, and the usable balance per currency now. */
  async credits(tenant: string): Promise<{ balance: Record<string, string>; grants: (CreditGrant & { remaining: string })[] }> {
    const { grants, applications } = await this.repo.credits(tenant);
    const left = remaining(grants, applications);
    const now = this.clock.nowMicros();
    const balance = new Map<string, bigint>();
    for (const g of grants) if (g.effectiveAt <= now && (g.expiresAt === null || g.expiresAt > now)) balance.set(g.currency, (balance.get(g.currency) ?? 0n) + left.get(g.id)!);
    return { balance: Object.fromEntries([...balance].map(([c, v]) => [c, inCurrency(v, c)])), grants: grants.map((g) => ({ ...g, remaining: inCurrency(left.get(g.id)!, g.currency) })) };
  }

  /** The invoice as a PDF. */
  async pdf(id: string): Promise<Buffer> {
    return invoicePdf(await this.get(id), this.issuerName);
  }

  list(f: { tenant?: string; status?: InvoiceStatus; from?: number; to?: number }): Promise<Invoice[]> {
    return this.repo.list(f);
  }

  async get(id: string): Promise<Invoice> {
    const inv = await this.repo.get(id);
    if (!inv) throw new TallyError('NOT_FOUND', `no invoice "${id}"`);
    return inv;
  }

  /**
   * Finalizes a draft with the next gapless number once its usage recomputed from the raw events
   * equals what it bills (else 409, the discrepancy stored on the draft); a finalized invoice as it is.
   */
  async finalize(id: string): Promise<Invoice> {
    let inv = await this.get(id);
    // The invoice job may re-draft while the raw check runs: finalize only a draft whose lines
    // are the ones just checked (re-checked if they changed; the window left is one read).
    for (let attempt = 0; inv.status === 'draft' && this.verify; attempt++) {
      const checked = (await this.verify([inv]))[0]!;
      assertReconciled(checked);
      const now = await this.get(id);
      if (now.status !== 'draft' || JSON.stringify(now.lines) === JSON.stringify(checked.lines)) break;
      if (attempt === 2) throw new TallyError('CONFLICT', `invoice ${id} kept changing while it was checked against the raw events; try again`, { id });
      inv = now;
    }
    return this.repo.finalize(id, INVOICE_ISSUER, this.clock.nowMicros());
  }

  /** Voids a finalized invoice: it stays as it was (status void) and a credit note of opposite amounts is issued. */
  async void(id: string, reason: string): Promise<{ invoice: Invoice; creditNote: Invoice }> {
    const inv = await this.get(id);
    const now = this.clock.nowMicros();
    const note: Invoice = {
      ...inv,
      id: `inv_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
      lines: inv.lines.map((l) => ({ ...l, name: `Credit: ${l.name}`, quantity: negate(l.quantity), amount: negate(l.amount), amountExact: negate(l.amountExact), tiers: [] })),
      subtotal: negate(inv.subtotal),
      credits: negate(inv.credits ?? '0'),
      creditsApplied: [],
      total: negate(inv.total),
      discrepancies: [],
      createdAt: now,
      voidedAt: null,
      creditNoteFor: id,
      reason,
    };
    // The credit applied to the invoice goes back to its grants (a void invoice's applications no
    // longer count); what was paid becomes a credit grant unless refunds are configured.
    const paid = parseQuantity(inv.total) as bigint;
    const asCredit: CreditGrant | undefined =
      this.creditNotes === 'credit' && paid > 0n ? { id: `crd_${randomUUID().replace(/-/g, '').slice(0, 20)}`, tenant: inv.tenant, currency: inv.currency, amount: inv.total, effectiveAt: now, expiresAt: null, priority: 0, reason: `void of ${inv.number}: ${reason}`, source: null, createdAt: now } : undefined;
    return this.repo.void(id, CREDIT_NOTE_ISSUER, now, note, asCredit);
  }

  /** The raw events a usage line billed (its meter, filter, tenant and period), in time order. */
  async *lineEvents(id: string, lineId: string): AsyncIterable<EventRecord[]> {
    const inv = await this.get(id);
    const line = inv.lines.find((l) => l.id === lineId);
    if (!line) throw new TallyError('NOT_FOUND', `invoice ${id} has no line "${lineId}"`);
    if (line.meter === null) throw new TallyError('NOT_FOUND', `line ${lineId} is ${line.kind === 'flat' ? 'a flat fee' : 'not usage'}: no events are behind it`);
    const meter = this.meters.get(line.meter);
    if (!meter) throw new TallyError('NOT_FOUND', `meter "${line.meter}" of line ${lineId} no longer exists`);
    const filter = Object.entries(line.filter ?? {}).map(([dim, values]) => ({ at: meter.dimensions.indexOf(dim), values: new Set(values) }));
    for await (const page of scanEffective(this.store, meter.def.eventType, parseRfc3339(line.periodStart)!, parseRfc3339(line.periodEnd)!, [inv.tenant])) {
      const billed = page.filter((e) => {
        const r = evaluateMeter(meter, e);
        return r !== null && !isMeterProblem(r) && filter.every((f) => f.values.has(r.dims[f.at] ?? ''));
      });
      if (billed.length > 0) yield billed;
    }
  }
}
