import PDFDocument from 'pdfkit';
import type { Invoice } from './invoice.ts';
import { formatMicros } from '../shared/time.ts';

const GREY = '#666666';

/** Title of an invoice by its status. */
function title(inv: Invoice): string {
  if (inv.creditNoteFor !== null) return `Credit note ${inv.number}`;
  if (inv.status === 'draft') return 'Draft invoice (not final)';
  return `Invoice ${inv.number}`;
}

/** `2026-05-01 00:00 UTC` from an RFC 3339 UTC stamp. */
const stamp = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/**
 * An invoice as a PDF a finance team can send: who, which period, each line with its quantity
 * and amount (tiers under it), subtotal and total in the currency, the exact unrounded amounts
 * and the rounding rule in the notes. Void invoices are marked VOID over the page.
 */
export function invoicePdf(inv: Invoice, issuer: string): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: title(inv), Author: issuer, CreationDate: new Date(Math.floor((inv.finalizedAt ?? inv.createdAt) / 1000)) } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  const start = formatMicros(inv.periodStart);
  const end = formatMicros(inv.periodEnd);
  doc.font('Helvetica-Bold').fontSize(20).text(title(inv));
  doc.font('Helvetica').fontSize(10).fillColor(GREY).text(issuer);
  doc.moveDown();
  doc.fillColor('black').fontSize(11);
  const facts: [string, string][] = [
    ['Customer', inv.tenant],
    ['Plan', inv.plan],
    ['Period', `${stamp(start)} up to ${stamp(end)}`],
    ['Issued', inv.finalizedAt === null ? 'not yet (draft)' : stamp(formatMicros(inv.finalizedAt))],
    ['Currency', inv.currency],
  ];
  if (inv.creditNoteFor) facts.push(['Credits invoice', inv.creditNoteFor]);
  if (inv.reason) facts.push(['Reason', inv.reason]);
  for (const [k, v] of facts) doc.font('Helvetica-Bold').text(`${k}: `, { continued: true }).font('Helvetica').text(v);
  doc.moveDown();

  const cols = { name: 50, qty: 330, amount: 440 };
  const header = doc.y;
  doc.font('Helvetica-Bold').text('Description', cols.name, header).text('Quantity', cols.qty, header).text(`Amount (${inv.currency})`, cols.amount, header, { width: 105, align: 'right' });
  doc.moveTo(50, doc.y + 2).lineTo(545, doc.y + 2).strokeColor(GREY).stroke();
  doc.moveDown(0.5);
  for (const l of inv.lines) {
    const y = doc.y;
    doc.font('Helvetica').fontSize(10).fillColor('black').text(l.name, cols.name, y, { width: 270 });
    const after = doc.y;
    doc.text(l.kind === 'flat' ? '' : l.quantity, cols.qty, y, { width: 100 }).text(l.amount, cols.amount, y, { width: 105, align: 'right' });
    doc.y = Math.max(after, doc.y);
    for (const t of l.tiers) {
      const tier = t as { from: string; to: string | null; quantity: string; unitPrice: string; flatAmount: string | null; amount: string };
      if (tier.quantity === '0') continue;
      doc.fontSize(8).fillColor(GREY).text(`  ${tier.from} – ${tier.to ?? '∞'}: ${tier.quantity} × ${tier.unitPrice}${tier.flatAmount ? ` + ${tier.flatAmount}` : ''} = ${tier.amount}`, cols.name + 10, doc.y, { width: 380 });
    }
    doc.fontSize(10).fillColor('black').moveDown(0.3);
  }
  doc.moveTo(300, doc.y + 2).lineTo(545, doc.y + 2).strokeColor(GREY).stroke();
  doc.moveDown(0.5);
  const totals: [string, string][] = [['Subtotal', inv.subtotal]];
  if (inv.credits && /[1-9]/.test(inv.credits)) totals.push(['Prepaid credit', inv.credits.startsWith('-') ? inv.credits.slice(1) : `-${inv.credits}`]);
  totals.push(['Total', `${inv.total} ${inv.currency}`]);
  for (const [k, v] of totals) {
    const y = doc.y;
    doc.font(k === 'Total' ? 'Helvetica-Bold' : 'Helvetica').text(k, cols.qty, y).text(v, cols.amount, y, { width: 105, align: 'right' });
  }
  doc.moveDown(2);
  doc.font('Helvetica').fontSize(8).fillColor(GREY).text(
    `Each line is computed exactly from the metered usage and rounded once, half-even, to the currency's minor unit; the total is the sum of the rounded lines. Exact amounts: ${inv.lines.map((l) => `${l.id} ${l.amountExact}`).join(', ')}. The events behind each usage line: GET /v1/invoices/${inv.id}/lines/{line}/events.`,
    50,
    doc.y,
    { width: 495 },
  );
  if (inv.status === 'void') {
    doc.save().rotate(-30, { origin: [300, 420] }).fontSize(110).fillColor('red').opacity(0.25).text('VOID', 120, 360).restore();
  }
  doc.end();
  return done;
}
