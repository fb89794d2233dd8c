import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, buildDashboard, chromiumAvailable, launchChromium, startTestServer } from './chromium.ts';

/*
 * The Data health view (#16) in real Chromium against a real server: the last run of every
 * reconciliation rule, a discrepancy shown with its exact difference, as the API answers it.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const shots = join(root, 'artifacts/screenshots');
const available = chromiumAvailable();
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const ev = (id: string, tenant: string, hour: number, data: Record<string, unknown>) => ({ specversion: '1.0', id, source: 'test', type: 'api.request', subject: tenant, time: `${yesterday}T${String(hour).padStart(2, '0')}:10:00Z`, data });

describe.skipIf(!available)('Data health view in real Chromium', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    await buildDashboard();
    srv = await startTestServer({ meters: [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } }, { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: {} }] });
    const events = Array.from({ length: 60 }, (_, i) => ev(`e${i}`, i % 2 ? 'acme' : 'globex', i % 24, { route: '/v1/items', bytes: 100 + i }));
    expect((await srv.request('POST', '/v1/events', events)).body.accepted).toBe(60);
    expect((await srv.request('POST', '/v1/reconcile', { day: yesterday })).body.discrepancies).toBe(0);
    const conn = await srv.store.connect(); // a raw event lost behind the store's back
    await conn.run("DELETE FROM events WHERE id = 'e7'");
    conn.closeSync();
    expect((await srv.request('POST', '/v1/reconcile', { day: yesterday, rules: ['rollups.day-vs-raw'] })).body.discrepancies).toBe(2);
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

  it('shows the last run of every rule, and a discrepancy with its exact difference', async () => {
    await page.getByTestId('nav-health').click();
    await page.getByTestId('health-rule').first().waitFor();
    const api = (await srv.request('GET', '/v1/reconciliation')).body.rules as { rule: string; status: string; discrepancies: number }[];
    const rows = await page.getByTestId('health-rule').allInnerTexts();
    expect(rows).toHaveLength(api.length);
    for (const r of api) expect(rows.find((x) => x.includes(r.rule))).toMatch(new RegExp(`${r.status === 'ok' ? 'ok' : 'discrepancy'}[\\s\\S]*\\s${r.discrepancies}$`));
    expect(await page.getByTestId('health-summary').innerText()).toContain(`1 of ${api.length} failing`);
    await page.getByTestId('health-rule').filter({ hasText: 'rollups.day-vs-raw' }).click();
    const detail = await page.getByTestId('health-results').innerText();
    // acme lost e7 (bytes 107): one event and 107 bytes more in the rollups than in raw.
    expect(detail).toMatch(/meter=api_requests tenant=acme[^\n]*\t29\t30\t1\tevents/);
    // acme's bytes: 30 × 100 + (1 + 3 + … + 59) = 3,900 in the rollups; raw lost e7's 107.
    expect(detail).toMatch(/meter=bytes tenant=acme[^\n]*\t3793\t3900\t107\t/);
    await page.screenshot({ path: join(shots, '08-data-health.png'), fullPage: true });
  });
});
