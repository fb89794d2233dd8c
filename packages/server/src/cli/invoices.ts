import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

interface LineView {
  id: string;
  kind: string;
  name: string;
  quantity: string;
  amount: string;
  amountExact: string;
  periodStart: string;
}
interface InvoiceView {
  id: string;
  number: string | null;
  tenant: string;
  plan: string;
  currency: string;
  periodStart: string;
  periodEnd: string;
  status: string;
  total: string;
  reconciled?: boolean;
  discrepancies?: { meter: string; raw: string; rollups: string }[];
  lines: LineView[];
}

type Conn = { url?: string; key?: string; json?: boolean };
const out = (s: string): void => void process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

function show(inv: InvoiceView): string {
  const head = `${inv.number ?? `${inv.status} ${inv.id}`} · ${inv.tenant} (${inv.plan}) · ${inv.periodStart} → ${inv.periodEnd} · ${inv.status}`;
  const lines = renderTable(['line', 'name', 'quantity', `amount ${inv.currency}`, 'exact'], inv.lines.map((l) => [l.id, l.name, l.kind === 'flat' ? '' : l.quantity, l.amount, l.amountExact]));
  const blocked = inv.reconciled === false ? `\nblocked: ${inv.discrepancies!.map((d) => `${d.meter} raw ${d.raw} ≠ rollups ${d.rollups}`).join('; ')}` : '';
  return `${head}\n${lines}\ntotal ${inv.total} ${inv.currency}${blocked}`;
}

/** `tally invoices list|show|finalize|void|pdf` and `tally billing preview` (through the API). */
export function invoicesCommand(program: Command): void {
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'API key (admin to finalize or void)').option('--json', 'print JSON');
  const inv = program.command('invoices').description('invoices issued by the batch layer');
  conn(inv.command('list').description('invoices, oldest period first').option('--tenant <id>').option('--status <status>', 'draft | finalized | void')).action(async (o: Conn & { tenant?: string; status?: string }) => {
    const q = new URLSearchParams({ ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.status ? { status: o.status } : {}) });
    const r = (await api(resolveClient(o), 'GET', `/v1/invoices?${q}`)).json as { data: InvoiceView[] };
    if (o.json) return out(JSON.stringify(r.data, null, 2));
    out(r.data.length === 0 ? 'no invoices yet (the invoices job drafts them an hour after a period ends)' : renderTable(['id', 'number', 'tenant', 'period start', 'status', 'total', 'reconciled'], r.data.map((i) => [i.id, i.number, i.tenant, i.periodStart, i.status, `${i.total} ${i.currency}`, i.reconciled ? 'yes' : 'NO'])));
  });
  conn(inv.command('show').description('one invoice with its lines').argument('<id>')).action(async (id: string, o: Conn) => {
    const r = (await api(resolveClient(o), 'GET', `/v1/invoices/${encodeURIComponent(id)}`)).json as InvoiceView;
    out(o.json ? JSON.stringify(r, null, 2) : show(r));
  });
  conn(inv.command('finalize').description('finalize a reconciled draft (immutable, numbered)').argument('<id>')).action(async (id: string, o: Conn) => {
    const r = (await api(resolveClient(o), 'POST', `/v1/invoices/${encodeURIComponent(id)}/finalize`)).json as InvoiceView;
    out(o.json ? JSON.stringify(r, null, 2) : `finalized ${r.id} as ${r.number}: ${r.total} ${r.currency}`);
  });
  conn(inv.command('void').description('void a finalized invoice; a credit note is issued').argument('<id>').requiredOption('--reason <text>', 'why (printed on the credit note)')).action(async (id: string, o: Conn & { reason: string }) => {
    const r = (await api(resolveClient(o), 'POST', `/v1/invoices/${encodeURIComponent(id)}/void`, { reason: o.reason })).json as { invoice: InvoiceView; creditNote: InvoiceView };
    out(o.json ? JSON.stringify(r, null, 2) : `voided ${r.invoice.number}; credit note ${r.creditNote.number}: ${r.creditNote.total} ${r.creditNote.currency}`);
  });
  inv
    .command('pdf')
    .description('write an invoice as PDF')
    .argument('<id>')
    .option('-o, --out <file>', 'output file (default: <number or id>.pdf)')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'API key')
    .action(async (id: string, o: Conn & { out?: string }) => {
      const c = resolveClient(o);
      const res = await fetch(`${c.url}/v1/invoices/${encodeURIComponent(id)}?format=pdf`, { headers: { authorization: `Bearer ${c.key}` } }).catch((err: Error) => {
        throw new CliError(`cannot reach ${c.url} (${err.message})`);
      });
      if (!res.ok) {
        const e = ((await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined)?.error;
        throw new CliError(e ? `${e.code}: ${e.message}` : `HTTP ${res.status}`);
      }
      const file = o.out ?? `${(res.headers.get('content-disposition') ?? '').match(/filename="([^"]+)"/)?.[1] ?? `${id}.pdf`}`;
      const bytes = Buffer.from(await res.arrayBuffer());
      writeFileSync(file, bytes);
      out(`wrote ${file} (${(bytes.length / 1024).toFixed(1)} KiB)`);
    });
  const billing = program.command('billing').description('prices and upcoming invoices');
  conn(billing.command('preview').description("the tenant's upcoming invoice: what it owes if the period ended now").requiredOption('--tenant <id>')).action(async (o: Conn & { tenant: string }) => {
    const r = (await api(resolveClient(o), 'GET', `/v1/tenants/${encodeURIComponent(o.tenant)}/invoices/upcoming`)).json as InvoiceView & { asOf: string };
    out(o.json ? JSON.stringify(r, null, 2) : show({ ...r, id: '', number: `upcoming (as of ${r.asOf})`, lines: r.lines.map((l, i) => ({ ...l, id: `line_${i + 1}` })) }));
  });
}
