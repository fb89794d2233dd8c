import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { INVOICE_STATUSES, type Invoice } from '../../billing/invoice.ts';
import { inCurrency } from '../../billing/credits.ts';
import type { InvoiceService } from '../../billing/invoice-service.ts';
import type { Principal } from '../../auth/keys.ts';
import { TallyError } from '../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import { formatMicros } from '../../shared/time.ts';
import { csvCell } from '../csv.ts';
import { timeParam, type Router } from '../route.ts';

const line = z.object({
  id: z.string(),
  kind: z.enum(['flat', 'usage', 'minimum', 'adjustment']),
  name: z.string(),
  meter: z.string().nullable(),
  filter: z.record(z.string(), z.array(z.string())).nullable(),
  quantity: z.string(),
  amount: z.string(),
  amountExact: z.string(),
  tiers: z.array(z.record(z.string(), z.unknown())),
  periodStart: z.string(),
  periodEnd: z.string(),
});
const invoiceView = z.object({
  id: z.string(),
  number: z.string().nullable().describe('gapless per issuer once finalized (INV-2026-000001; credit notes CN-…)'),
  tenant: z.string(),
  plan: z.string(),
  currency: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  status: z.enum(INVOICE_STATUSES),
  lines: z.array(line),
  subtotal: z.string().describe('sum of the rounded lines'),
  credits: z.string().describe('prepaid credit applied at finalization'),
  creditsApplied: z.array(z.object({ grant: z.string(), amount: z.string() })),
  total: z.string().describe('subtotal − credits'),
  reconciled: z.boolean().describe('false once the check before finalization found usage recomputed from raw events differing from what the draft bills (finalization refuses it until the draft is recomputed)'),
  discrepancies: z.array(z.object({ meter: z.string(), raw: z.string(), rollups: z.string() })),
  createdAt: z.string(),
  finalizedAt: z.string().nullable(),
  voidedAt: z.string().nullable(),
  creditNoteFor: z.string().nullable(),
});

function view(i: Invoice): z.infer<typeof invoiceView> {
  return {
    ...i,
    credits: i.credits ?? inCurrency(0n, i.currency),
    creditsApplied: i.creditsApplied ?? [],
    // The price as billed stays internal (it re-prices late usage); the API shows the line.
    lines: i.lines.map((l) => ({ id: l.id, kind: l.kind, name: l.name, meter: l.meter, filter: l.filter, quantity: l.quantity, amount: l.amount, amountExact: l.amountExact, tiers: l.tiers, periodStart: l.periodStart, periodEnd: l.periodEnd })),
    periodStart: formatMicros(i.periodStart),
    periodEnd: formatMicros(i.periodEnd),
    createdAt: formatMicros(i.createdAt),
    finalizedAt: i.finalizedAt === null ? null : formatMicros(i.finalizedAt),
    voidedAt: i.voidedAt === null ? null : formatMicros(i.voidedAt),
  };
}

/** Portal keys read their own tenant's invoices only. */
function check(principal: Principal | null, inv: Invoice): Invoice {
  if (principal?.tenant && principal.tenant !== inv.tenant) throw new TallyError('NOT_FOUND', `no invoice "${inv.id}"`);
  return inv;
}


/** An invoice as CSV: one row per line, the totals last. */
function invoiceCsv(i: z.infer<typeof invoiceView>): string {
  const head = 'invoice,number,tenant,currency,line,kind,name,meter,quantity,amount,amountExact,periodStart,periodEnd';
  const row = (texts: (string | null)[], numbers: (string | null)[], period: string[]) => [...texts.map((v) => csvCell(v, true)), ...numbers.map((v) => csvCell(v, false)), ...period.map((v) => csvCell(v, false))].join(',');
  const rows = i.lines.map((l) => row([i.id, i.number, i.tenant, i.currency, l.id, l.kind, l.name, l.meter], [l.quantity, l.amount, l.amountExact], [l.periodStart, l.periodEnd]));
  if (i.credits !== inCurrency(0n, i.currency)) rows.push(row([i.id, i.number, i.tenant, i.currency, 'credits', '', 'Prepaid credit applied', ''], ['', `-${i.credits}`, ''], [i.periodStart, i.periodEnd]));
  rows.push(row([i.id, i.number, i.tenant, i.currency, 'total', '', 'Total', ''], ['', i.total, ''], [i.periodStart, i.periodEnd]));
  return [head, ...rows].join('\n') + '\n';
}

const grantView = z.object({ id: z.string(), tenant: z.string(), currency: z.string(), amount: z.string(), remaining: z.string(), effectiveAt: z.string(), expiresAt: z.string().nullable(), priority: z.number(), reason: z.string(), source: z.string().nullable().describe('the credit note a void turned into credit'), createdAt: z.string() });
type GrantLike = Omit<z.infer<typeof grantView>, 'effectiveAt' | 'expiresAt' | 'createdAt' | 'remaining'> & { effectiveAt: number; expiresAt: number | null; createdAt: number; remaining?: string };
const grantOut = (g: GrantLike) => ({ ...g, remaining: g.remaining ?? g.amount, effectiveAt: formatMicros(g.effectiveAt), expiresAt: g.expiresAt === null ? null : formatMicros(g.expiresAt), createdAt: formatMicros(g.createdAt) });

/** Prepaid credits of a tenant: grant (admin), and grants with their balance (read). */
function creditRoutes(router: Router, invoices: InvoiceService): void {
  const tenantParams = z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant) });
  router.add(
    {
      method: 'POST',
      url: '/v1/tenants/:tenant/credits',
      summary: 'Grant prepaid credit; finalized invoices spend it soonest-expiring first',
      tag: 'billing',
      scope: 'admin',
      params: tenantParams,
      body: z.object({ amount: z.string().describe("exact decimal > 0, at most the currency's decimals"), currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'), effectiveAt: z.string().optional(), expiresAt: z.string().optional(), priority: z.number().int().min(0).max(1000).optional().describe('among grants expiring together, lower is spent first'), reason: z.string().min(1).max(500) }).strict(),
      responses: { 201: { description: 'The grant', schema: grantView } },
    },
    async ({ params, body, reply }) => {
      const g = await invoices.grantCredit(params.tenant, { amount: body.amount, currency: body.currency, reason: body.reason, ...(body.priority === undefined ? {} : { priority: body.priority }), ...(body.effectiveAt ? { effectiveAt: timeParam(body.effectiveAt, 'body.effectiveAt')! } : {}), ...(body.expiresAt ? { expiresAt: timeParam(body.expiresAt, 'body.expiresAt')! } : {}) });
      void reply.code(201);
      return grantOut(g);
    },
  );
  router.add(
    { method: 'GET', url: '/v1/tenants/:tenant/credits', summary: "A tenant's credit grants, what is left of each, and the usable balance per currency", tag: 'billing', scope: 'read', params: tenantParams, responses: { 200: { description: 'Credits', schema: z.object({ tenant: z.string(), balance: z.record(z.string(), z.string()), grants: z.array(grantView) }) } } },
    async ({ params, principal }) => {
      if (principal?.tenant && principal.tenant !== params.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      const c = await invoices.credits(params.tenant);
      return { tenant: params.tenant, balance: c.balance, grants: c.grants.map(grantOut) };
    },
  );
}

/** Issued invoices: list, read (JSON or CSV), finalize, void, and the raw events behind a line. */
export function invoiceRoutes(router: Router, invoices: InvoiceService): void {
  creditRoutes(router, invoices);
  const idParams = z.object({ id: identifierSchema(IDENTIFIER_LIMITS.id) });
  router.add(
    {
      method: 'GET',
      url: '/v1/invoices',
      summary: 'Invoices and credit notes, by period',
      tag: 'billing',
      scope: 'read',
      query: z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional(), status: z.enum(INVOICE_STATUSES).optional(), from: z.string().optional().describe('periods starting at or after (RFC 3339)'), to: z.string().optional().describe('periods starting before') }).strict(),
      responses: { 200: { description: 'Invoices', schema: z.object({ data: z.array(invoiceView) }) } },
    },
    async ({ query, principal }) => {
      if (principal?.tenant && query.tenant !== undefined && query.tenant !== principal.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      const tenant = principal?.tenant ?? query.tenant;
      const from = timeParam(query.from, 'query.from');
      const to = timeParam(query.to, 'query.to');
      const list = await invoices.list({ ...(tenant ? { tenant } : {}), ...(query.status ? { status: query.status } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
      return { data: list.map(view) };
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/v1/invoices/:id',
      summary: 'One invoice: JSON, CSV (Accept: text/csv or format=csv) or PDF (Accept: application/pdf or format=pdf)',
      tag: 'billing',
      scope: 'read',
      params: idParams,
      query: z.object({ format: z.enum(['json', 'csv', 'pdf']).optional() }).strict(),
      responses: { 200: { description: 'The invoice', schema: invoiceView } },
    },
    async ({ params, principal, query, req, reply }) => {
      const stored = check(principal, await invoices.get(params.id));
      const accept = req.headers.accept ?? '';
      const format = query.format ?? (accept.includes('application/pdf') ? 'pdf' : accept.includes('text/csv') ? 'csv' : 'json');
      if (format === 'pdf') return reply.type('application/pdf').header('content-disposition', `attachment; filename="${stored.number ?? stored.id}.pdf"`).send(await invoices.pdf(stored.id));
      const inv = view(stored);
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${inv.number ?? inv.id}.csv"`).send(invoiceCsv(inv));
      return inv;
    },
  );
  router.add(
    { method: 'POST', url: '/v1/invoices/:id/finalize', summary: 'Finalize a reconciled draft: immutable from now on, with the next gapless number', tag: 'billing', scope: 'admin', params: idParams, responses: { 200: { description: 'The finalized invoice', schema: invoiceView }, 409: { description: 'CONFLICT: the draft is not reconciled' } } },
    async ({ params }) => view(await invoices.finalize(params.id)),
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/invoices/:id/void',
      summary: 'Void a finalized invoice: it stays as issued (status void) and a numbered credit note of opposite amounts is issued',
      tag: 'billing',
      scope: 'admin',
      params: idParams,
      body: z.object({ reason: z.string().min(1).max(500) }).strict(),
      responses: { 200: { description: 'The voided invoice and its credit note', schema: z.object({ invoice: invoiceView, creditNote: invoiceView }) } },
    },
    async ({ params, body }) => {
      const r = await invoices.void(params.id, body.reason);
      return { invoice: view(r.invoice), creditNote: view(r.creditNote) };
    },
  );
  router.add(
    {
      method: 'GET',
      url: '/v1/invoices/:id/lines/:lineId/events',
      summary: 'The raw events behind a usage line, streamed as NDJSON (or CSV with Accept: text/csv)',
      tag: 'billing',
      scope: 'read',
      params: z.object({ id: identifierSchema(IDENTIFIER_LIMITS.id), lineId: z.string().max(64) }),
      responses: { 200: { description: 'One event per line (NDJSON) or row (CSV)', contentType: 'application/x-ndjson' } },
    },
    async ({ params, principal, req, reply }) => streamEvents(invoices, params.id, params.lineId, principal, (req.headers.accept ?? '').includes('text/csv'), reply),
  );
}

async function streamEvents(invoices: InvoiceService, id: string, lineId: string, principal: Principal | null, csv: boolean, reply: FastifyReply): Promise<FastifyReply> {
  check(principal, await invoices.get(id));
  const pages = invoices.lineEvents(id, lineId)[Symbol.asyncIterator]();
  const first = await pages.next(); // errors (no such line) become a 4xx before streaming starts
  async function* body(): AsyncIterable<string> {
    if (csv) yield 'tenant,id,type,source,time,data\n';
    for (let page = first; !page.done; page = await pages.next()) {
      for (const e of page.value) {
        yield csv ? [e.tenant, e.id, e.type, e.source, formatMicros(e.time), e.dataJson].map((v) => csvCell(v, true)).join(',') + '\n' : JSON.stringify({ tenant: e.tenant, id: e.id, type: e.type, source: e.source, time: formatMicros(e.time), data: e.data }) + '\n';
      }
    }
  }
  return reply.type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson').send(Readable.from(body()));
}
