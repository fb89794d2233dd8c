import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

const clock = fixedClock('2026-04-20T12:00:00Z');
const METERS = [
  { slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'llm_tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
];
const PLANS = [
  {
    id: 'pro',
    currency: 'USD',
    prices: [
      { name: 'Pro subscription', model: 'flat', amount: '49.00' },
      { meter: 'api_requests', model: 'graduated', tiers: [{ upTo: 10, unitPrice: '0' }, { unitPrice: '0.125' }] },
      { meter: 'llm_tokens', model: 'unit', unitPrice: '0.001', filter: { model: 'gpt-4' }, name: 'GPT-4 tokens' },
    ],
  },
];
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: METERS as never, clock, config: { plans: PLANS, tenants: [{ id: 'acme', plan: 'pro' }, { id: 'blocked', plan: 'pro' }] } });
});
afterAll(async () => {
  await s.close();
});

const ev = (id: string, tenant: string, time: string, type: string, data: Record<string, unknown>) => ({ specversion: '1.0', id, source: 'test', type, subject: tenant, time, data });
const runInvoices = async (range: string) => (await s.request('POST', '/v1/jobs/invoices/run', { range })).body;
const invoicesOf = async (tenant: string) => (await s.request('GET', `/v1/invoices?tenant=${tenant}`)).body.data as { id: string; periodStart: string; status: string; number: string | null; total: string; reconciled: boolean; lines: { id: string; kind: string; name: string; quantity: string; amount: string; amountExact: string; periodStart: string }[] }[];

describe('billing: invoices issued by the batch layer from raw events', () => {
  it('drafts an ended period from raw events, finalizes it gapless, keeps it byte-identical, bills late usage on the next invoice, voids with a credit note', async () => {
    const april = [
      ...Array.from({ length: 13 }, (_, i) => ev(`a${i}`, 'acme', `2026-04-${String(1 + i).padStart(2, '0')}T10:00:00Z`, 'api.request', { route: '/x' })),
      ev('g1', 'acme', '2026-04-03T10:00:00Z', 'llm.completion', { model: 'gpt-4', tokens: 1500 }),
      ev('g2', 'acme', '2026-04-03T10:00:00Z', 'llm.completion', { model: 'small', tokens: 9999 }),
      ev('m1', 'acme', '2026-03-31T23:59:59Z', 'api.request', { route: '/x' }), // March: not April's
      ev('b1', 'blocked', '2026-04-05T10:00:00Z', 'api.request', { route: '/x' }),
      ev('b2', 'blocked', '2026-04-05T11:00:00Z', 'api.request', { route: '/x' }),
    ];
    expect((await s.request('POST', '/v1/events', april)).body.accepted).toBe(april.length);
    // The raw event b2 disappears behind the store's back: the rollups still count it.
    const conn = await (s.store as DuckDbStore).connect();
    await conn.run("DELETE FROM events WHERE tenant = 'blocked' AND id = 'b2'");
    conn.closeSync();

    clock.set('2026-05-01T00:30:00Z'); // inside the 1 h grace: April is not due yet, March is
    expect((await runInvoices('t1')).run.output).toMatchObject({ drafted: 2, blocked: 0 });
    expect((await invoicesOf('acme')).map((i) => [i.periodStart, i.total])).toEqual([['2026-03-01T00:00:00.000Z', '49.00']]);
    clock.set('2026-05-01T02:00:00Z');
    // Drafts come from the rollups; the raw recomputation runs before finalization (below).
    expect((await runInvoices('t2')).run.output).toMatchObject({ drafted: 2, blocked: 0, finalized: 0 });
    expect((await runInvoices('t2')).reason).toBe('done');

    const draft = (await invoicesOf('acme')).find((i) => i.periodStart === '2026-04-01T00:00:00.000Z');
    expect(draft).toMatchObject({ periodStart: '2026-04-01T00:00:00.000Z', status: 'draft', number: null, reconciled: true, total: '50.88' });
    expect(draft!.lines.map((l) => [l.name, l.quantity, l.amount, l.amountExact])).toEqual([
      ['Pro subscription', '1', '49.00', '49'],
      ['api_requests (graduated)', '13', '0.38', '0.375'],
      ['GPT-4 tokens', '1500', '1.50', '1.5'],
    ]);
    const blocked = (await invoicesOf('blocked')).find((i) => i.periodStart === '2026-04-01T00:00:00.000Z');
    expect(blocked!.lines.find((l) => l.name === 'api_requests (graduated)')!.quantity).toBe('2');
    const refused = await s.request('POST', `/v1/invoices/${blocked!.id}/finalize`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/raw 1, rollups 2/);
    // The discrepancy is stored on the draft, which stays a draft.
    expect((await invoicesOf('blocked')).find((i) => i.periodStart === '2026-04-01T00:00:00.000Z')).toMatchObject({ status: 'draft', number: null, reconciled: false, discrepancies: [{ meter: 'api_requests', raw: '1', rollups: '2' }] });

    const fin = await s.request('POST', `/v1/invoices/${draft!.id}/finalize`);
    expect(fin.body).toMatchObject({ status: 'finalized', number: 'INV-2026-000001', finalizedAt: '2026-05-01T02:00:00.000Z' });
    const finalizedText = (await s.request('GET', `/v1/invoices/${draft!.id}`)).text;

    // The raw events behind the graduated line, as NDJSON and CSV.
    const nd = await s.request('GET', `/v1/invoices/${draft!.id}/lines/line_2/events`);
    expect(nd.headers.get("content-type"), nd.text.slice(0, 300)).toMatch(/ndjson/);
    expect(nd.text.trim().split('\n').map((l) => JSON.parse(l).id).sort()).toEqual(Array.from({ length: 13 }, (_, i) => `a${i}`).sort());
    const gpt = await s.request('GET', `/v1/invoices/${draft!.id}/lines/line_3/events`, undefined, { headers: { accept: 'text/csv' } });
    expect(gpt.text.trim().split('\n')).toHaveLength(2); // header + g1 (the small model is not billed on this line)
    expect((await s.request('GET', `/v1/invoices/${draft!.id}/lines/line_1/events`)).status).toBe(404);

    // A late April event (inside the 35-day backfill horizon) after April was finalized.
    clock.set('2026-05-10T09:00:00Z');
    expect((await s.request('POST', '/v1/events', [ev('late1', 'acme', '2026-04-29T10:00:00Z', 'api.request', { route: '/x' }), ev('may1', 'acme', '2026-05-02T10:00:00Z', 'api.request', { route: '/x' })])).body.accepted).toBe(2);
    clock.set('2026-06-01T02:00:00Z');
    expect((await runInvoices('t3')).run.output).toMatchObject({ drafted: 2, adjustmentLines: 1 });
    expect((await s.request('GET', `/v1/invoices/${draft!.id}`)).text).toBe(finalizedText);
    const may = (await invoicesOf('acme')).find((i) => i.periodStart === '2026-05-01T00:00:00.000Z')!;
    expect(may.lines.map((l) => [l.kind, l.name, l.quantity, l.amount, l.periodStart])).toEqual([
      ['flat', 'Pro subscription', '1', '49.00', '2026-05-01T00:00:00.000Z'],
      ['usage', 'api_requests (graduated)', '1', '0.00', '2026-05-01T00:00:00.000Z'],
      ['usage', 'GPT-4 tokens', '0', '0.00', '2026-05-01T00:00:00.000Z'],
      // 14 units at the graduated price minus the 13 billed: 0.5 − 0.375
      ['adjustment', 'Late usage: api_requests (graduated) (2026-04-01 – 2026-05-01)', '1', '0.12', '2026-04-01T00:00:00.000Z'],
    ]);
    expect(may.total).toBe('49.12');
    const mayFinal = await s.request('POST', `/v1/invoices/${may.id}/finalize`);
    expect(mayFinal.body.number).toBe('INV-2026-000002');
    // Once billed, the late unit is not billed again on June's invoice.
    clock.set('2026-07-01T02:00:00Z');
    await runInvoices('t4');
    const june = (await invoicesOf('acme')).find((i) => i.periodStart === '2026-06-01T00:00:00.000Z')!;
    expect(june.lines.filter((l) => l.kind === 'adjustment')).toEqual([]);

    const voided = await s.request('POST', `/v1/invoices/${draft!.id}/void`, { reason: 'customer dispute' });
    expect(voided.body.invoice).toMatchObject({ status: 'void', number: 'INV-2026-000001' });
    expect(voided.body.creditNote).toMatchObject({ status: 'finalized', number: 'CN-2026-000001', creditNoteFor: draft!.id, total: '-50.88' });
    expect((await s.request('POST', `/v1/invoices/${draft!.id}/void`, { reason: 'again' })).status).toBe(409);
    const pdf = await fetch(`${s.url}/v1/invoices/${may.id}?format=pdf`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    if (process.env.TALLY_PDF_OUT) (await import('node:fs')).writeFileSync(process.env.TALLY_PDF_OUT, bytes);
    const csv = await s.request('GET', `/v1/invoices/${may.id}`, undefined, { headers: { accept: 'text/csv' } });
    expect(csv.text.split('\n')[0]).toBe('invoice,number,tenant,currency,line,kind,name,meter,quantity,amount,amountExact,periodStart,periodEnd');
    expect(csv.text).toContain(',total,,Total,,,49.12,,');
  });

  it('prepaid credits: granted, spent at finalization soonest-expiring first, shown with their balance', async () => {
    const grant = (body: Record<string, unknown>) => s.request('POST', '/v1/tenants/acme/credits', { currency: 'USD', reason: 'prepaid', ...body });
    expect((await grant({ amount: '40.00', expiresAt: '2026-12-31T00:00:00Z' })).status).toBe(201);
    expect((await grant({ amount: '20', priority: 1 })).body).toMatchObject({ amount: '20.00', remaining: '20.00' });
    expect((await grant({ amount: '1.001' })).status).toBe(400); // USD has 2 decimals
    expect((await grant({ amount: '-5' })).status).toBe(400);
    const june = (await invoicesOf('acme')).find((i) => i.periodStart === '2026-06-01T00:00:00.000Z')!;
    const fin = await s.request('POST', `/v1/invoices/${june.id}/finalize`);
    expect(fin.body).toMatchObject({ subtotal: '49.00', credits: '49.00', total: '0.00' });
    expect(fin.body.creditsApplied.map((a: { amount: string }) => a.amount)).toEqual(['40.00', '9.00']);
    const credits = await s.request('GET', '/v1/tenants/acme/credits');
    // The void of April gave back what it paid (50.88) as a grant too (billing.creditNotes: credit).
    expect(credits.body.balance).toEqual({ USD: '61.88' });
    const grants = credits.body.grants.map((g: { amount: string; remaining: string; source: string | null }) => [g.amount, g.remaining, g.source]);
    expect(grants.sort()).toEqual([
      ['20.00', '20.00', null], // priority 1: after the never-expiring grant of priority 0
      ['40.00', '0.00', null], // expires first: spent first
      ['50.88', '41.88', 'CN-2026-000001'],
    ]);
  });

  it('portal keys read their own invoices only', async () => {
    const key = await s.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'blocked' });
    const mine = await s.request('GET', '/v1/invoices', undefined, { token: key.body.token });
    expect(mine.body.data.every((i: { tenant: string }) => i.tenant === 'blocked')).toBe(true);
    const acme = (await invoicesOf('acme'))[0]!;
    expect((await s.request('GET', `/v1/invoices/${acme.id}`, undefined, { token: key.body.token })).status).toBe(404);
    expect((await s.request('GET', '/v1/invoices?tenant=acme', undefined, { token: key.body.token })).status).toBe(403);
    expect((await s.request('GET', '/v1/tenants/acme/credits', undefined, { token: key.body.token })).status).toBe(403);
    expect((await s.request('POST', '/v1/tenants/blocked/credits', { amount: '1', currency: 'USD', reason: 'x' }, { token: key.body.token })).status).toBe(403);
    expect((await s.request('POST', `/v1/invoices/${acme.id}/finalize`, undefined, { token: key.body.token })).status).toBe(403);
  });
});
