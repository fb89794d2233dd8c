import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, buildDashboard, chromiumAvailable, launchChromium, startTestServer } from './chromium.ts';

/*
 * The Capacity and Costs views in real Chromium against a real server holding 12 days of traffic
 * shaped like the demo's: the forecast card names the method the API shipped and its backtest,
 * the storage plan shows the API's total, the costs view the API's parts and flagged tenants.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const shots = join(root, 'artifacts/screenshots');
const server = '../../server/src';
const { demoShapedSeries } = (await import(`${server}/capacity/synthetic.ts`)) as { demoShapedSeries: (o: object) => number[] };
const available = chromiumAvailable();
const HOUR = 3_600_000;
const end = Math.floor(Date.now() / HOUR) * HOUR;

describe.skipIf(!available)('Capacity and Costs views in real Chromium', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    await buildDashboard();
    srv = await startTestServer({
      meters: [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: {}, unit: 'requests' }],
      config: {
        plans: [{ id: 'pro', currency: 'USD', prices: [{ name: 'Pro', model: 'flat', amount: '49.00' }] }, { id: 'free', entitlements: [] }, { id: 'basic', currency: 'USD', prices: [{ name: 'Basic', model: 'flat', amount: '1.00' }] }],
        tenants: [{ id: 'acme', plan: 'pro' }, { id: 'globex', plan: 'basic' }, { id: 'initech', plan: 'pro' }],
        costs: [{ name: 'database cluster', amount: '120.00', currency: 'USD', allocateBy: 'api_requests', dedicated: { initech: '30.00' } }],
      },
    });
    const events: unknown[] = [];
    for (const [i, [tenant, trend]] of ([['acme', 'growing'], ['globex', 'steady'], ['initech', 'steady']] as const).entries()) {
      demoShapedSeries({ hours: 12 * 24, endMs: end, peakPerHour: 40 / (i + 1), trend, seed: 5 + i }).forEach((n, h) => {
        for (let k = 0; k < n; k++) events.push({ specversion: '1.0', id: `${tenant}-${h}-${k}`, source: 'test', type: 'api.request', subject: tenant, time: new Date(end - (12 * 24 - h) * HOUR + (k * HOUR) / (n + 1)).toISOString(), data: {} });
      });
    }
    for (let i = 0; i < events.length; i += 5000) expect((await srv.request('POST', '/v1/events', events.slice(i, i + 5000))).status).toBe(200);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(srv.url + '/');
    await page.getByTestId('key-input').fill(srv.adminToken);
    await page.getByTestId('key-submit').click();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('shows the forecast with the method the API shipped, its backtest beside the baseline, and the storage plan', async () => {
    await page.getByTestId('nav-capacity').click();
    await page.getByTestId('forecast-card').waitFor();
    const api = (await srv.request('GET', '/v1/forecast?meter=api_requests&horizon=14d&window=day')).body;
    expect(await page.getByTestId('forecast-card').innerText()).toContain(`method: ${api.method}`);
    const bt = await page.getByTestId('backtest').innerText();
    expect(bt).toContain(`${api.backtest.candidate.smape.toFixed(1)} %`);
    expect(bt).toContain(`${api.backtest.baseline.smape.toFixed(1)} %`);
    await page.getByTestId('tier-row').first().waitFor();
    expect(await page.getByTestId('tier-row').count()).toBe(6);
    await page.getByTestId('cap-threshold').fill('2000');
    await page.getByTestId('threshold').waitFor();
    await page.screenshot({ path: join(shots, '11-capacity.png'), fullPage: true });
  });

  it('shows the costs per tenant as the API attributes them, the dedicated tenant, and the flagged margins', async () => {
    await page.getByTestId('nav-costs').click();
    await page.getByTestId('cost-card').waitFor();
    const month = new Date().toISOString().slice(0, 7);
    const costs = (await srv.request('GET', `/v1/costs?period=${month}`)).body;
    const card = await page.getByTestId('cost-card').innerText();
    for (const p of costs.costs[0].parts) expect(card).toContain(`${p.amount} USD`);
    expect(card).toMatch(/initech\s+dedicated[\s\S]*30\.00 USD/);
    const margin = (await srv.request('GET', `/v1/costs/margin?period=${month}`)).body;
    await page.getByTestId('margin-row').first().waitFor();
    const flagged = margin.tenants.filter((t: { flagged: boolean }) => t.flagged).map((t: { tenant: string }) => t.tenant);
    expect(flagged.length).toBeGreaterThan(0);
    const rows = await page.getByTestId('margin-row').allInnerTexts();
    for (const t of flagged) expect(rows.find((r) => r.startsWith(t))).toMatch(/cost > revenue/);
    await page.screenshot({ path: join(shots, '12-costs.png'), fullPage: true });
  });
});
