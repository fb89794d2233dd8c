import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

const clock = fixedClock('2026-04-01T00:00:00Z');
const METERS = [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: {} }];
const PLANS = [
  { id: 'basic', currency: 'USD', prices: [{ name: 'Basic subscription', model: 'flat', amount: '49.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.02' }] },
  { id: 'proplus', currency: 'USD', prices: [{ name: 'Pro+ subscription', model: 'flat', amount: '99.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.01' }] },
  { id: 'yen', currency: 'JPY', billingPeriod: 'month', prices: [{ meter: 'api_requests', model: 'unit', unitPrice: '3' }] },
];
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: METERS as never, clock, config: { plans: PLANS, tenants: [{ id: 'mover', plan: 'basic' }, { id: 'abroad', plan: 'basic' }] } });
});
afterAll(async () => {
  await s?.close();
});

const ev = (id: string, tenant: string, time: string) => ({ specversion: '1.0', id, source: 'test', type: 'api.request', subject: tenant, time, data: {} });
const linesOf = (inv: { lines: { name: string; quantity: string; amount: string }[] }) => inv.lines.map((l) => [l.name, l.quantity, l.amount]);

describe('billing: plan changes made through the API (PUT /v1/tenants/{tenant}) split the period', () => {
  it('a mid-period switch bills usage per part and prorates flat fees on the upcoming and the issued invoice; a switch to another currency waits for the period end', async () => {
    const events = [ev('a1', 'mover', '2026-04-05T10:00:00Z'), ev('a2', 'mover', '2026-04-06T10:00:00Z'), ev('b1', 'abroad', '2026-04-05T10:00:00Z')];
    clock.set('2026-04-10T12:00:00Z');
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(3);
    // Upcoming before the switch: the config's plan alone.
    expect(linesOf((await s.request('GET', '/v1/tenants/mover/invoices/upcoming')).body)).toEqual([
      ['Basic subscription', '1', '49.00'],
      ['api_requests (unit)', '2', '0.04'],
    ]);
    clock.set('2026-04-11T00:00:00Z');
    expect((await s.request('PUT', '/v1/tenants/mover', { plan: 'proplus' })).status).toBe(200);
    // JPY bills in another currency: the switch takes effect when April ends.
    expect((await s.request('PUT', '/v1/tenants/abroad', { plan: 'yen' })).status).toBe(200);
    clock.set('2026-04-20T10:00:00Z');
    expect((await s.request('POST', '/v1/events', [ev('a3', 'mover', '2026-04-20T10:00:00Z'), ev('a4', 'mover', '2026-04-20T10:00:01Z'), ev('a5', 'mover', '2026-04-20T10:00:02Z'), ev('b2', 'abroad', '2026-04-20T10:00:00Z')])).body.accepted).toBe(4);

    // 10 of 30 days on basic, 20 on proplus: flat fees prorated (49 × 1/3 = 16.33, 99 × 2/3 = 66.00).
    const split = [
      ['Basic subscription (basic, 2026-04-01 – 2026-04-11)', '0.333333333333', '16.33'],
      ['api_requests (unit) (basic, 2026-04-01 – 2026-04-11)', '2', '0.04'],
      ['Pro+ subscription (proplus, 2026-04-11 – 2026-05-01)', '0.666666666667', '66.00'],
      ['api_requests (unit) (proplus, 2026-04-11 – 2026-05-01)', '3', '0.03'],
    ];
    const upcoming = (await s.request('GET', '/v1/tenants/mover/invoices/upcoming')).body;
    expect(upcoming).toMatchObject({ plan: 'basic → proplus', total: '82.40' });
    expect(linesOf(upcoming)).toEqual(split);
    expect(linesOf((await s.request('GET', '/v1/tenants/abroad/invoices/upcoming')).body)).toEqual([
      ['Basic subscription', '1', '49.00'],
      ['api_requests (unit)', '2', '0.04'],
    ]);

    // The issued invoice of April follows the same timeline, passes the raw check and finalizes.
    clock.set('2026-05-01T02:00:00Z');
    expect((await s.request('POST', '/v1/jobs/invoices/run', { range: 'may1' })).body.run.output).toMatchObject({ drafted: 2 });
    const april = (await s.request('GET', '/v1/invoices?tenant=mover')).body.data.find((i: { periodStart: string }) => i.periodStart === '2026-04-01T00:00:00.000Z');
    expect(april).toMatchObject({ plan: 'basic → proplus', total: '82.40' });
    expect(linesOf(april)).toEqual(split);
    expect((await s.request('POST', `/v1/invoices/${april.id}/finalize`)).body).toMatchObject({ status: 'finalized', total: '82.40' });
    // abroad: April all on basic; May on yen (JPY).
    const abroad = (await s.request('GET', '/v1/invoices?tenant=abroad')).body.data.find((i: { periodStart: string }) => i.periodStart === '2026-04-01T00:00:00.000Z');
    expect(abroad).toMatchObject({ plan: 'basic', currency: 'USD', total: '49.04' });
    clock.set('2026-05-02T00:00:00Z');
    expect((await s.request('GET', '/v1/tenants/abroad/invoices/upcoming')).body).toMatchObject({ plan: 'yen', currency: 'JPY', periodStart: '2026-05-01T00:00:00.000Z' });

    // Back to the config's plan (plan: null) from May 2: May splits at that instant.
    expect((await s.request('PUT', '/v1/tenants/mover', { plan: null })).status).toBe(200);
    clock.set('2026-05-11T00:00:00Z');
    expect((await s.request('GET', '/v1/tenants/mover/invoices/upcoming')).body.plan).toBe('proplus → basic');
  });
});
