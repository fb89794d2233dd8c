import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, buildDashboard, chromiumAvailable, launchChromium, startTestServer } from './chromium.ts';

/*
 * The tenant view's quota settings in real Chromium against a real server: an admin sets an
 * override limit, adds a grant and voids it; each change is checked against what the public API
 * answers afterwards (and what the server enforces).
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const docsShots = join(root, 'docs/screenshots');
const available = chromiumAvailable();

describe.skipIf(!available)('quota settings in the tenant view (real Chromium)', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(docsShots, { recursive: true });
    await buildDashboard();
    srv = await startTestServer({
      meters: [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: {}, unit: 'requests' }],
      config: { plans: [{ id: 'starter', entitlements: [{ meter: 'api_requests', period: 'month', limit: 10 }] }], tenants: [{ id: 'acme', plan: 'starter' }] },
    });
    const now = Date.now();
    const events = Array.from({ length: 6 }, (_, i) => ({ specversion: '1.0', id: `e${i}`, source: 'test', type: 'api.request', subject: 'acme', time: new Date(now - (i + 1) * 60_000).toISOString(), data: {} }));
    expect((await srv.request('POST', '/v1/events', events)).status).toBe(200);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 1100 } })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(srv.url + '/#/tenants/acme');
    await page.getByTestId('key-input').fill(srv.adminToken);
    await page.getByTestId('key-submit').click();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  const limitOnApi = async () => (await srv.request('GET', '/v1/tenants/acme/entitlements/api_requests')).body;

  it('sets an override, adds a grant and voids it; the API and enforcement follow each change', async () => {
    await page.getByTestId('quota-admin').waitFor();
    expect(await page.getByTestId('limit-api_requests').innerText()).toBe('10');

    await page.getByTestId('override-api_requests').fill('7');
    await page.getByTestId('override-save').click();
    await expect.poll(() => page.getByTestId('limit-api_requests').innerText()).toBe('7');
    expect(await limitOnApi()).toMatchObject({ limit: '7', included: '7', usage: '6' });

    await page.getByTestId('grant-amount').fill('5');
    await page.getByTestId('grant-priority').fill('1');
    await page.getByTestId('grant-add').click();
    const row = page.locator('[data-testid^="grant-row-"]');
    await row.first().waitFor();
    const id = (await row.first().getAttribute('data-testid'))!.replace('grant-row-', '');
    await expect.poll(() => page.getByTestId('limit-api_requests').innerText()).toBe('12');
    expect(await limitOnApi()).toMatchObject({ limit: '12', included: '7', grantAllowance: '5', grantBalance: '5', grants: [{ id, amount: '5', priority: 1, status: 'active' }] });
    // Enforced: 6 more calls fit (1 from the plan, 5 from the grant), the 7th does not.
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await srv.request('POST', '/v1/quota/consume', { tenant: 'acme', meter: 'api_requests', idempotencyKey: `k${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    await page.reload();
    await expect.poll(() => page.getByTestId(`grant-remaining-${id}`).innerText()).toBe('0');
    await page.getByTestId('quota-admin').screenshot({ path: join(docsShots, 'quota-admin.png') });

    await page.getByTestId(`grant-void-${id}`).click();
    await expect.poll(async () => (await srv.request('GET', '/v1/tenants/acme/grants')).body.data[0].voided?.reason).toBe('voided in the dashboard');
    await page.getByText(/^voided /).waitFor();

    // A refused change shows the API's message.
    await page.getByTestId('grant-amount').fill('-1');
    await page.getByTestId('grant-add').click();
    await page.getByText(/must be a decimal > 0/).waitFor();
  }, 180_000);
});
