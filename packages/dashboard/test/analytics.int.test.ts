import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, buildDashboard, chromiumAvailable, launchChromium, startTestServer } from './chromium.ts';

/*
 * #19: the Adoption, Funnels and Retention views on demo data with product journeys (12
 * weeks), in Debian's headless Chromium against a real server. Every figure the page shows is
 * compared with the API's answer; CSV downloads carry the `approximate` column; the sketched
 * percentiles say approximate. Screenshots go to artifacts/screenshots and docs/screenshots.
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const shots = join(root, 'artifacts/screenshots');
const docs = join(root, 'docs/screenshots');
const server = '../../server/src';
const { loadConfig } = (await import(`${server}/config/load.ts`)) as { loadConfig: (path: string, env: object) => { meters: object[]; plans: object[]; tenants: object[] } };
const { sendDemo } = (await import(`${server}/demo/send.ts`)) as { sendDemo: (o: object) => Promise<{ accepted: number; rejected: number }> };
const available = chromiumAvailable();

describe.skipIf(!available)('analytics views in real Chromium on demo journeys', () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  const shot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    copyFileSync(join(shots, `${name}.png`), join(docs, `${name}.png`));
  };
  const csvOf = async (testId: string) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
    return readFileSync((await download.path())!, 'utf8');
  };

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    mkdirSync(docs, { recursive: true });
    await buildDashboard();
    const config = loadConfig(join(root, 'tally.config.yaml'), {});
    // Journeys reach 11 weeks back (the views look 12 back, so no event sits on a range edge the page and the test could see differently): the server accepts events that old.
    srv = await startTestServer({ meters: config.meters, config: { plans: config.plans, tenants: config.tenants, ingest: { backfillDays: 100 } } });
    const sent = await sendDemo({ url: srv.url, key: srv.adminToken, tenants: 12, events: 3000, historyHours: 24, journeyWeeks: 11, batchSize: 2000, seed: 19 });
    expect(sent.rejected).toBe(0);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true, timezoneId: 'UTC' })).newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(srv.url + '/');
    await page.getByTestId('key-input').fill(srv.adminToken);
    await page.getByTestId('key-submit').click();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('Funnels: signup → project → invite → upgrade, each count as the API answers, drop-offs visible, CSV labelled exact', async () => {
    await page.getByTestId('nav-funnels').click();
    await page.getByTestId('funnel').waitFor();
    const shown = (await page.getByTestId('funnel-step').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count')))));
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const api = await srv.request('POST', '/v1/analytics/funnel', { steps: ['signup', 'project.created', 'member.invited', 'plan.upgraded'].map((eventType) => ({ eventType })), windowSeconds: 7 * 86_400, from: new Date(now.getTime() - 84 * 86_400_000).toISOString(), to: now.toISOString() });
    expect(shown).toEqual(api.body.steps.map((s: { count: number }) => s.count));
    expect(shown[0]).toBeGreaterThan(100);
    for (let i = 1; i < shown.length; i++) expect(shown[i]!).toBeLessThan(shown[i - 1]!);
    expect(await page.getByTestId('funnel-exactness').innerText()).toBe('exact');
    const csv = await csvOf('funnel-csv');
    expect(csv.split('\n')[0]).toBe('step,eventType,count,conversion,conversionFromPrevious,medianSecondsFromPrevious,approximate');
    expect(csv.split('\n')[1]).toMatch(new RegExp(`^1,signup,${shown[0]},1,1,,false$`));
    await shot('funnels');
  });

  it('Retention: one heatmap row per weekly cohort with the API numbers, returning users weeks later', async () => {
    await page.getByTestId('nav-retention').click();
    await page.getByTestId('retention-table').waitFor();
    const rows = await page.getByTestId('cohort-row').allInnerTexts();
    const now = Date.now();
    const api = await srv.request('POST', '/v1/analytics/retention', { startEvent: 'signup', returnEvent: 'session.started', period: 'WEEK', periods: 12, timeZone: 'UTC', from: new Date(now - 91 * 86_400_000).toISOString(), to: new Date(now).toISOString() });
    const cohorts = api.body.cohorts as { cohort: string; size: number; returning: number[] }[];
    expect(rows.length).toBe(cohorts.length);
    expect(rows.length).toBeGreaterThanOrEqual(11);
    expect(rows.map((r) => r.split('\t').slice(0, 2).join(' '))).toEqual(cohorts.map((c) => `${c.cohort} ${c.size}`));
    expect(cohorts[0]!.returning.slice(4).some((n) => n > 0)).toBe(true);
    expect(await page.getByTestId('retention-exactness').innerText()).toBe('exact');
    expect((await csvOf('retention-csv')).split('\n')[0]).toMatch(/^cohort,size,week_0,.*,week_12,observedPeriods,approximate$/);
    await shot('retention');
  });

  it('Adoption: features with tenants and shares as the API answers, broad and niche buckets, percentiles labelled approximate', async () => {
    await page.getByTestId('nav-adoption').click();
    await page.getByTestId('adoption-table').waitFor();
    await page.getByTestId('percentiles').waitFor();
    const shown = await page.getByTestId('adoption-row').evaluateAll((els) => els.map((e) => [e.getAttribute('data-feature'), Number(e.getAttribute('data-tenants'))]));
    const now = Date.now();
    const api = await srv.request('GET', `/v1/analytics/adoption?period=WEEK&timeZone=UTC&from=${new Date(now - 84 * 86_400_000).toISOString()}&to=${new Date(now).toISOString()}`);
    expect(shown).toEqual(api.body.features.map((f: { feature: string; tenants: number }) => [f.feature, f.tenants]));
    expect(api.body.features.some((f: { bucket: string | null }) => f.bucket === 'broad')).toBe(true);
    expect(await page.getByTestId('adoption-exactness').innerText()).toBe('exact');
    expect(await page.getByTestId('percentiles-exactness').innerText()).toMatch(/^approximate · \{"relative":0.01\}$/);
    expect((await csvOf('adoption-csv')).split('\n')[0]).toBe('feature,period,tenants,users,tenantShare,userShare,cumulativeTenants,firstUse,bucket,approximate');
    await shot('adoption');
  });
});
