import { describe, expect, it } from 'vitest';
import type { Invoice } from './invoice.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import { CREDIT_NOTE_ISSUER, INVOICE_ISSUER } from './numbering.ts';

const AT = Date.UTC(2026, 11, 3) * 1000;
let n = 0;

/** A draft for tests. */
export function draft(tenant: string, periodStart: number, over: Partial<Invoice> = {}): Invoice {
  return {
    id: `inv_test${n++}`,
    number: null,
    tenant,
    plan: 'pro',
    currency: 'USD',
    periodStart,
    periodEnd: periodStart + 1,
    status: 'draft',
    lines: [{ id: 'line_1', kind: 'flat', name: 'Base', meter: null, filter: null, quantity: '1', amount: '49.00', amountExact: '49', tiers: [], periodStart: 'a', periodEnd: 'b' }],
    subtotal: '49.00',
    total: '49.00',
    reconciled: true,
    discrepancies: [],
    createdAt: AT,
    finalizedAt: null,
    voidedAt: null,
    creditNoteFor: null,
    ...over,
  };
}

/** The contract every InvoiceRepo passes (DuckDB and ClickHouse). `make` gives an empty repo. */
export function runInvoiceRepoContract(name: string, make: () => Promise<InvoiceRepo>): void {
  describe(`InvoiceRepo contract: ${name}`, () => {
    it('replaces drafts of a period, never a finalized invoice; numbers are gapless under concurrency', async () => {
      const repo = await make();
      try {
        const first = await repo.saveDraft(draft("o'brien \\ 🚀", 100));
        const again = await repo.saveDraft(draft("o'brien \\ 🚀", 100, { total: '50.00' }));
        expect(again.id).toBe(first.id);
        expect((await repo.forPeriod("o'brien \\ 🚀", 100))?.total).toBe('50.00');
        const drafts = await Promise.all(Array.from({ length: 6 }, (_, i) => repo.saveDraft(draft(`t${i}`, 200))));
        const done = await Promise.all(drafts.map((d) => repo.finalize(d.id, INVOICE_ISSUER, AT)));
        expect(done.map((d) => d.number).sort()).toEqual(['INV-2026-000001', 'INV-2026-000002', 'INV-2026-000003', 'INV-2026-000004', 'INV-2026-000005', 'INV-2026-000006']);
        // Finalizing twice keeps the number; a new draft for a finalized period is refused (the finalized one comes back).
        expect((await repo.finalize(drafts[0]!.id, INVOICE_ISSUER, AT + 5)).number).toBe(done[0]!.number);
        const kept = await repo.saveDraft(draft('t0', 200, { total: '1.00' }));
        expect(kept).toEqual(done[0]);
        expect(await repo.get(drafts[0]!.id)).toEqual(done[0]);
        expect((await repo.list({ status: 'finalized' })).length).toBe(6);
        expect((await repo.list({ tenant: "o'brien \\ 🚀" })).map((i) => i.status)).toEqual(['draft']);
        expect(await repo.list({ from: 150, to: 250, tenant: 't3' })).toHaveLength(1);
        expect(await repo.list({ tenant: "x' OR '1'='1" })).toEqual([]);
        // Many drafts at once: a finalized period comes back unchanged, a stored draft keeps its id, new ones are stored.
        const batch = await repo.saveDrafts([draft('t0', 200, { total: '2.00' }), draft("o'brien \\ 🚀", 100, { total: '51.00' }), ...Array.from({ length: 250 }, (_, i) => draft(`b${i}`, 300, { total: `${i}.00` }))]);
        expect(batch[0]).toEqual(done[0]);
        expect(batch[1]).toMatchObject({ id: first.id, total: '51.00', status: 'draft' });
        expect((await repo.forPeriod("o'brien \\ 🚀", 100))?.total).toBe('51.00');
        expect((await repo.list({ from: 300, to: 301 })).map((i) => i.total).sort()).toEqual(Array.from({ length: 250 }, (_, i) => `${i}.00`).sort());
        expect(await repo.saveDrafts([])).toEqual([]);
      } finally {
        await repo.close();
      }
    });

    it('refuses to finalize an unreconciled draft; voids a finalized invoice with a numbered credit note', async () => {
      const repo = await make();
      try {
        const blocked = await repo.saveDraft(draft('b', 1, { reconciled: false, discrepancies: [{ meter: 'calls', raw: '10', rollups: '9' }] }));
        await expect(repo.finalize(blocked.id, INVOICE_ISSUER, AT)).rejects.toThrow(/blocked.*calls: raw 10, rollups 9/);
        await expect(repo.void(blocked.id, CREDIT_NOTE_ISSUER, AT, draft('b', 1))).rejects.toThrow(/only a finalized invoice/);
        const inv = await repo.finalize((await repo.saveDraft(draft('v', 1))).id, INVOICE_ISSUER, AT);
        const { invoice, creditNote } = await repo.void(inv.id, CREDIT_NOTE_ISSUER, AT + 1, draft('v', 1, { total: '-49.00' }));
        expect(invoice).toMatchObject({ status: 'void', number: inv.number, voidedAt: AT + 1 });
        expect(creditNote).toMatchObject({ status: 'finalized', number: 'CN-2026-000001', creditNoteFor: inv.id, total: '-49.00' });
        expect(await repo.get(creditNote.id)).toEqual(creditNote);
        expect(await repo.forPeriod('v', 1)).toEqual(invoice);
        await expect(repo.void(inv.id, CREDIT_NOTE_ISSUER, AT, draft('v', 1))).rejects.toThrow(/only a finalized invoice/);
        await expect(repo.finalize('inv_nope', INVOICE_ISSUER, AT)).rejects.toThrow(/no invoice/);
        // The next invoice number continues the sequence: credit notes have their own.
        expect((await repo.finalize((await repo.saveDraft(draft('w', 1))).id, INVOICE_ISSUER, AT)).number).toBe('INV-2026-000002');
      } finally {
        await repo.close();
      }
    });

    it('spends credit grants at finalization, in the same write; a void gives the credit back and can keep what was paid as a grant', async () => {
      const repo = await make();
      try {
        const g = { id: 'crd_1', tenant: "c'r", currency: 'USD', amount: '30.00', effectiveAt: 0, expiresAt: null, priority: 0, reason: 'prepaid', source: null, createdAt: 1 };
        await repo.grantCredit(g);
        const a = await repo.finalize((await repo.saveDraft(draft("c'r", 1))).id, INVOICE_ISSUER, AT);
        expect([a.credits, a.total, a.creditsApplied]).toEqual(['30.00', '19.00', [{ grant: 'crd_1', amount: '30.00' }]]);
        const b = await repo.finalize((await repo.saveDraft(draft("c'r", 2))).id, INVOICE_ISSUER, AT);
        expect([b.credits, b.total]).toEqual(['0.00', '49.00']);
        const asCredit = { ...g, id: 'crd_2', amount: '19.00', reason: 'void', createdAt: 2 };
        await repo.void(a.id, CREDIT_NOTE_ISSUER, AT + 1, draft("c'r", 1, { total: '-19.00' }), asCredit);
        const c = await repo.credits("c'r");
        expect(c.grants.map((x) => [x.id, x.amount, x.source])).toEqual([['crd_1', '30.00', null], ['crd_2', '19.00', 'CN-2026-000001']]);
        // a's 30.00 came back with the void; b spent none.
        expect(c.applications).toEqual([]);
        const d = await repo.finalize((await repo.saveDraft(draft("c'r", 3))).id, INVOICE_ISSUER, AT + 2);
        expect([d.credits, d.total]).toEqual(['49.00', '0.00']);
        expect((await repo.credits("c'r")).applications.map((x) => [x.grantId, x.amount])).toEqual([['crd_1', '30.00'], ['crd_2', '19.00']]);
      } finally {
        await repo.close();
      }
    });
  });
}
