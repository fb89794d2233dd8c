import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, buildDashboard, chromiumAvailable, launchChromium, startTestServer } from './chromium.ts';

/*
 * The Alerts view in real Chromium against a real server: quota alerts fired by the
 * alerts-evaluate job, a webhook receiver that first fails then recovers (the delivery log
 * shows the 500s and the 200), the rule list, and the firing alerts on the tenant page.
 * Screenshots go to docs/screenshots/.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const shots = join(root, 'docs/screenshots');
const available = chromiumAvailable();
const call = (id: string, tenant: string) => ({ specversion: '1.0', id, source: 'test', type: 'api.request', subject: tenant, time: new Date().toISOString(), data: { route: '/v1/items' } });

describe.skipIf(!available)('Alerts view in real Chromium', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  let receiver: Server;
  let answer = 500;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    await buildDashboard();
    receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(answer).end()));
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    srv = await startTestServer({
      meters: [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } }],
      config: {
        plans: [{ id: 'starter', entitlements: [{ meter: 'api_requests', period: 'month', limit: 20 }] }],
        tenants: [{ id: 'acme', plan: 'starter' }, { id: 'globex', plan: 'starter' }, { id: 'initech', plan: 'starter' }],
        alerts: { schedule: '* * * * * *', delivery: { pollMs: 100, baseDelayMs: 100, maxDelayMs: 200, maxAttempts: 3 }, rules: [{ id: 'traffic-drop', name: 'Traffic drop', kind: 'traffic-drop', meter: 'api_requests' }] },
      },
    });
    const ep = (await srv.request('POST', '/v1/alerts/endpoints', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, description: 'ops receiver' })).body;
    expect((await srv.request('POST', '/v1/alerts/rules', { id: 'quota', name: 'Quota 80 % / 100 %', kind: 'quota', meter: 'api_requests', thresholds: ['80%', '100%'], channels: [ep.id] })).status).toBe(201);
    // acme at 100 %, globex at 80 %, initech at 10 %.
    const events = [...Array.from({ length: 20 }, (_, i) => call(`a${i}`, 'acme')), ...Array.from({ length: 16 }, (_, i) => call(`g${i}`, 'globex')), call('i0', 'initech'), call('i1', 'initech')];
    expect((await srv.request('POST', '/v1/events', events)).body.accepted).toBe(events.length);
    // The first message is dead-lettered after 3 × 500; then the receiver recovers.
    for (let i = 0; i < 300; i++) {
      const dead = (await srv.request('GET', '/v1/alerts/deliveries?state=dead')).body.data as unknown[];
      if (dead.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    answer = 200;
    // The receiver is back: whatever was dead-lettered while it failed is sent again (same
    // webhook-id, fresh budget), as an operator would. Alerts fired after the recovery go through
    // on their own; both paths end in a 200 in the delivery log.
    const deadNow = (await srv.request('GET', '/v1/alerts/deliveries?state=dead')).body.data as { id: string }[];
    for (const d of deadNow) expect((await srv.request('POST', `/v1/alerts/deliveries/${d.id}/redeliver`)).status).toBe(202);
    for (let i = 0; i < 300; i++) {
      const pending = (await srv.request('GET', '/v1/alerts/deliveries?state=pending')).body.data as unknown[];
      const delivered = (await srv.request('GET', '/v1/alerts/deliveries?state=delivered')).body.data as unknown[];
      if (pending.length === 0 && delivered.length >= 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(srv.url + '/');
    await page.getByTestId('key-input').fill(srv.adminToken);
    await page.getByTestId('key-submit').click();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    receiver?.close();
  });

  it('shows firing alerts, the history, the rules and the delivery log as the API has them', async () => {
    const api = (await srv.request('GET', '/v1/alerts')).body.data as { tenant: string; state: string; details: { threshold: string } }[];
    expect(api.map((a) => `${a.tenant} ${a.details.threshold}`).sort()).toEqual(['acme 100%', 'acme 80%', 'globex 80%']);
    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('alerts-view').waitFor();
    const rows = page.getByTestId('firing-table').getByTestId('alert-row');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
    const text = await page.getByTestId('firing-table').innerText();
    expect(text).toContain('acme: api_requests at 100% of its limit (20 of 20)');
    expect(text).toContain('globex: api_requests at 80% of its limit (16 of 20)');
    expect(await page.getByTestId('rule-table').innerText()).toMatch(/Traffic drop\ttraffic-drop[\s\S]*Quota 80 % \/ 100 %\tquota\tall tenants\tapi_requests\t80%, 100%\t1\tapi/);
    const log = await page.getByTestId('attempt-table').innerText();
    expect(log).toContain('500');
    expect(log).toContain('200');
    const deliveries = (await srv.request('GET', '/v1/alerts/deliveries')).body.data as { state: string }[];
    expect(await page.getByTestId('delivery-counts').innerText()).toContain(`${deliveries.filter((d) => d.state === 'dead').length} dead-lettered`);
    await page.screenshot({ path: join(shots, 'alerts-view.png'), fullPage: true });
  });

  it("shows a tenant's firing alerts on its page, and none for a tenant without", async () => {
    await page.goto(`${srv.url}/#/tenants/globex`);
    await page.getByTestId('tenant-alerts').waitFor();
    expect(await page.getByTestId('tenant-alert-table').innerText()).toContain('globex: api_requests at 80%');
    await expect.poll(() => page.getByTestId('tenant-alert-table').getByTestId('alert-row').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'alerts-tenant.png') });
    await page.goto(`${srv.url}/#/tenants/initech`);
    await page.getByTestId('tenant-title').filter({ hasText: 'initech' }).waitFor();
    await page.getByTestId('quotas').waitFor().catch(() => undefined);
    expect(await page.getByTestId('tenant-alerts').count()).toBe(0);
  });
});
