import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, buildDashboard, chromiumAvailable, launchChromium, startTestServer } from './chromium.ts';

/*
 * The Billing view in real Chromium against a real server: invoices issued by the invoices job
 * from raw events, one finalized, one blocked by a discrepancy; the invoice page's lines and
 * tiers; the tenant page's upcoming invoice. What the page shows is compared with the API.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const shots = join(root, 'artifacts/screenshots');
const available = chromiumAvailable();

// Real time (the browser's clock decides its default ranges): last month is the ended period.
const nowMs = Date.now();
const d = new Date(nowMs);
const lastMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
const thisMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
// The last 2½ days of last month: inside the 35-day backfill horizon whatever today's date.
const inLastMonth = (k: number, hour: number) => new Date(thisMonth - (1 + (k % 3)) * 20 * 3_600_000 + hour * 60_000).toISOString();
const ym = (ms: number) => new Date(ms).toISOString().slice(0, 7);
const ev = (id: string, tenant: string, time: string, type: string, data: Record<string, unknown>) => ({ specversion: '1.0', id, source: 'test', type, subject: tenant, time, data });

describe.skipIf(!available)('Billing view in real Chromium', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    await buildDashboard();
    srv = await startTestServer({
      meters: [
        { slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
        { slug: 'llm_tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
      ],
      config: {
        plans: [
          { id: 'pro', currency: 'USD', prices: [{ name: 'Pro subscription', model: 'flat', amount: '49.00' }, { meter: 'api_requests', model: 'graduated', tiers: [{ upTo: 10, unitPrice: '0' }, { upTo: 100, unitPrice: '0.125' }, { unitPrice: '0.05' }] }, { meter: 'llm_tokens', model: 'package', packageSize: 1000, packagePrice: '0.002' }] },
          { id: 'team', currency: 'EUR', prices: [{ name: 'Team', model: 'flat', amount: '19.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.01' }] },
        ],
        tenants: [{ id: 'acme', plan: 'pro' }, { id: 'globex', plan: 'team' }, { id: 'initech', plan: 'pro' }],
      },
    });
    const events = [
      ...Array.from({ length: 140 }, (_, i) => ev(`a${i}`, 'acme', inLastMonth(5 + (i % 20), 10), 'api.request', { route: '/v1/items' })),
      ...Array.from({ length: 3 }, (_, i) => ev(`t${i}`, 'acme', inLastMonth(6, 10), 'llm.completion', { model: 'gpt-4', tokens: 1700 })),
      ...Array.from({ length: 30 }, (_, i) => ev(`g${i}`, 'globex', inLastMonth(7, 10), 'api.request', { route: '/v1/items' })),
      ev('i1', 'initech', inLastMonth(7, 10), 'api.request', { route: '/v1/items' }),
      ev('i2', 'initech', inLastMonth(7, 11), 'api.request', { route: '/v1/items' }),
    ];
    expect((await srv.request('POST', '/v1/events', events)).body.accepted).toBe(events.length);
    const conn = await srv.store.connect(); // a raw event lost behind the store's back: initech's invoice is blocked
    await conn.run("DELETE FROM events WHERE id = 'i2'");
    conn.closeSync();
    expect((await srv.request('POST', '/v1/jobs/invoices/run', { range: 'ui' })).body.run.output).toMatchObject({ drafted: 3 });
    const list = (await srv.request('GET', '/v1/invoices')).body.data as { id: string; tenant: string }[];
    // Raw events are checked when an invoice is finalized: initech's is refused and keeps the discrepancy.
    expect((await srv.request('POST', `/v1/invoices/${list.find((i) => i.tenant === 'initech')!.id}/finalize`)).status).toBe(409);
    for (const t of ['acme', 'globex']) expect((await srv.request('POST', `/v1/invoices/${list.find((i) => i.tenant === t)!.id}/finalize`)).status).toBe(200);
    await srv.request('POST', '/v1/events', Array.from({ length: 25 }, (_, i) => ev(`m${i}`, 'acme', new Date(Math.max(thisMonth, nowMs - 3_600_000 - i * 60_000)).toISOString(), 'api.request', { route: '/v1/items' })));
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(srv.url + '/');
    await page.getByTestId('key-input').fill(srv.adminToken);
    await page.getByTestId('key-submit').click();
  });

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('lists the invoices with their status and the revenue per plan and month', async () => {
    await page.getByTestId('nav-billing').click();
    await page.getByTestId('invoice-list').waitFor();
    const rows = await page.getByTestId('invoice-row').allInnerTexts();
    expect(rows).toHaveLength(3);
    const api = (await srv.request('GET', '/v1/invoices')).body.data as { tenant: string; number: string; total: string }[];
    const acme = api.find((i) => i.tenant === 'acme')!;
    // 49 + (90 × 0.125 + 40 × 0.05 = 13.25) + 6 packages × 0.002 = 0.012 → 0.01
    expect(acme.total).toBe('62.26');
    expect(rows.find((r) => r.includes('acme'))).toMatch(new RegExp(`${acme.number}[\\s\\S]*finalized[\\s\\S]*62\\.26 USD`));
    expect(rows.find((r) => r.includes('initech'))).toMatch(/draft[\s\S]*blocked/);
    const plan = await page.getByTestId('revenue-plan').innerText();
    expect(plan, plan).toMatch(/pro\s+62\.26 USD[\s\S]*team\s+19\.30 EUR/);
    const month = await page.getByTestId('revenue-month').innerText();
    expect(month, month).toContain(`${ym(lastMonth)}\t62.26 USD`);
    expect(month).toContain(`${ym(lastMonth)}\t19.30 EUR`);
    await page.screenshot({ path: join(shots, '08-billing.png'), fullPage: true });
  });

  it('an invoice page shows each line and its tiers exactly as the API does', async () => {
    await page.getByRole('link', { name: /INV-2026/ }).first().click();
    await page.getByTestId('invoice-lines').waitFor();
    const id = decodeURIComponent(page.url().split('#/billing/')[1]!);
    const api = (await srv.request('GET', `/v1/invoices/${id}`)).body as { total: string; currency: string; lines: { name: string; amount: string }[] };
    const text = await page.getByTestId('invoice-lines').innerText();
    for (const l of api.lines) expect(text).toContain(l.name);
    expect(await page.getByTestId('invoice-total').innerText()).toBe(`${api.total} ${api.currency}`);
    await page.screenshot({ path: join(shots, '09-invoice.png'), fullPage: true });
  });

  it('a key bound to a tenant sees no server-wide figures on the overview', async () => {
    const portal = (await srv.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'acme' })).body as { token: string };
    const other = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await other.goto(srv.url + '/');
    await other.getByTestId('key-input').fill(portal.token);
    await other.getByTestId('key-submit').click();
    const hidden = other.getByTestId('outcomes-hidden');
    await hidden.waitFor();
    expect(await hidden.innerText()).toContain('tenant acme');
    expect(await other.getByTestId('outcomes').count()).toBe(0);
    await other.close();
  });

  it('the tenant page shows the upcoming invoice of the open period', async () => {
    await page.goto(`${srv.url}/#/tenants/acme`);
    const card = page.getByTestId('invoice-card');
    await card.waitFor({ timeout: 10_000 }).catch(async (err: Error) => {
      await page.screenshot({ path: join(shots, '10-tenant-upcoming-failed.png'), fullPage: true });
      throw err;
    });
    const up = (await srv.request('GET', '/v1/tenants/acme/invoices/upcoming')).body as { total: string };
    expect(await card.innerText()).toContain(`Upcoming invoice`);
    expect(await card.innerText()).toContain(`${new Date(thisMonth).toISOString().slice(0, 10)} →`);
    expect(await card.getByTestId('invoice-total').innerText()).toBe(`${up.total} USD`);
    await page.screenshot({ path: join(shots, '10-tenant-upcoming.png'), fullPage: true });
  });
});
