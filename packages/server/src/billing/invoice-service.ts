import { randomUUID } from 'node:crypto';
import { TallyError } from '../errors/registry.ts';
import type { EventRecord } from '../events/event.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { parseRfc3339, type Clock } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { Invoice, InvoiceStatus } from './invoice.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import { CREDIT_NOTE_ISSUER, INVOICE_ISSUER } from './numbering.ts';
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
  ) {}

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

  /** Finalizes a reconciled draft with the next gapless number; a finalized invoice as it is. */
  finalize(id: string): Promise<Invoice> {
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
      total: negate(inv.total),
      discrepancies: [],
      createdAt: now,
      voidedAt: null,
      creditNoteFor: id,
      reason,
    };
    return this.repo.void(id, CREDIT_NOTE_ISSUER, now, note);
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
    for await (const page of this.store.scanEvents(meter.def.eventType, parseRfc3339(line.periodStart)!, parseRfc3339(line.periodEnd)!, [inv.tenant])) {
      const billed = page.filter((e) => {
        const r = evaluateMeter(meter, e);
        return r !== null && !isMeterProblem(r) && filter.every((f) => f.values.has(r.dims[f.at] ?? ''));
      });
      if (billed.length > 0) yield billed;
    }
  }
}
