import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

const clock = fixedClock('2026-04-20T12:00:00Z');
const METERS = [
  { slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'llm_tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
  { slug: 'latency_max', eventType: 'api.request', aggregation: 'MAX', valueProperty: '$.ms', groupBy: {} },
] as const;
const PLANS = [
  {
    id: 'pro',
    currency: 'USD',
    billingPeriod: 'month',
    prices: [
      { name: 'Pro subscription', model: 'flat', amount: '49.00' },
      { meter: 'api_requests', model: 'graduated', tiers: [{ upTo: 3, unitPrice: '0' }, { upTo: 10, unitPrice: '0.5', flatAmount: '1' }, { unitPrice: '0.25' }] },
      { meter: 'llm_tokens', model: 'package', packageSize: 1000, packagePrice: '0.002', name: 'GPT-4 tokens', filter: { model: 'gpt-4' } },
      { meter: 'llm_tokens', model: 'unit', unitPrice: '0.0000015', filter: { model: ['small', 'tiny'] } },
    ],
    minimumSpend: '20',
  },
  { id: 'yen', currency: 'JPY', billingPeriod: 'week', prices: [{ meter: 'api_requests', model: 'unit', unitPrice: '0.5' }] },
  { id: 'free', entitlements: [] },
  { id: 'basic', currency: 'USD', prices: [{ name: 'Basic subscription', model: 'flat', amount: '49.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.02' }] },
  { id: 'proplus', currency: 'USD', prices: [{ name: 'Pro+ subscription', model: 'flat', amount: '99.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.01' }] },
];
const TENANTS = [
  { id: 'acme', plan: 'pro', billing: { anchor: '2026-01-15', timeZone: 'Europe/Berlin' } },
  { id: 'kyoto', plan: 'yen' },
  { id: 'gratis', plan: 'free' },
  { id: 'mover', plan: 'basic', billing: { planChanges: [{ plan: 'proplus', effective: '2026-04-11T00:00:00Z' }] } },
];
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: METERS as never, clock, config: { plans: PLANS, tenants: TENANTS } });
});
afterAll(async () => {
  await s.close();
});

const ev = (id: string, tenant: string, time: string, type: string, data: Record<string, unknown>) => ({ specversion: '1.0', id, source: 'test', type, subject: tenant, time, data });

describe('billing: the upcoming invoice', () => {
  it('prices the open period of a tenant in its time zone and anchor, exactly, with tiers and filters', async () => {
    const events = [
      // Before the period (it starts 2026-04-15 00:00 Berlin = 2026-04-14T22:00Z): not billed.
      ev('old', 'acme', '2026-04-14T21:59:59Z', 'api.request', { route: '/a', ms: 1 }),
      ...Array.from({ length: 12 }, (_, i) => ev(`r${i}`, 'acme', '2026-04-14T22:00:00Z', 'api.request', { route: '/a', ms: 1 })),
      ev('t1', 'acme', '2026-04-16T10:00:00Z', 'llm.completion', { model: 'gpt-4', tokens: 1500 }),
      ev('t2', 'acme', '2026-04-16T10:00:00Z', 'llm.completion', { model: 'small', tokens: '1000.5' }),
      ev('t3', 'acme', '2026-04-16T10:00:00Z', 'llm.completion', { model: 'tiny', tokens: 3 }),
      ev('t4', 'acme', '2026-04-16T10:00:00Z', 'llm.completion', { model: 'other', tokens: 999 }),
      ev('k1', 'kyoto', '2026-04-20T01:00:00Z', 'api.request', { route: '/a', ms: 1 }),
      ev('k2', 'kyoto', '2026-04-20T02:00:00Z', 'api.request', { route: '/a', ms: 1 }),
      ev('k3', 'kyoto', '2026-04-19T23:00:00Z', 'api.request', { route: '/a', ms: 1 }),
    ];
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(events.length);
    expect((await s.request('POST', '/v1/events', events)).body.duplicates).toBe(events.length);
    const r = await s.request('GET', '/v1/tenants/acme/invoices/upcoming');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ tenant: 'acme', plan: 'pro', currency: 'USD', periodStart: '2026-04-14T22:00:00.000Z', periodEnd: '2026-05-14T22:00:00.000Z', status: 'upcoming' });
    expect(r.body.lines.map((l: { name: string; quantity: string; amount: string; amountExact: string }) => [l.name, l.quantity, l.amount, l.amountExact])).toEqual([
      ['Pro subscription', '1', '49.00', '49'],
      // 3 free, 7 × 0.5 + 1 flat, 2 × 0.25
      ['api_requests (graduated)', '12', '5.00', '5'],
      // 1,500 tokens → 2 packages
      ['GPT-4 tokens', '1500', '0.00', '0.004'],
      // 1,003.5 × 0.0000015
      ['llm_tokens (unit)', '1003.5', '0.00', '0.00150525'],
    ]);
    expect(r.body.lines[1].tiers.map((t: { quantity: string; amount: string }) => [t.quantity, t.amount])).toEqual([['3', '0'], ['7', '4.5'], ['2', '0.5']]);
    expect(r.body.total).toBe('54.00');
  });

  it('weeks start on Monday and JPY has no minor unit', async () => {
    const r = await s.request('GET', '/v1/tenants/kyoto/invoices/upcoming');
    expect(r.body).toMatchObject({ periodStart: '2026-04-20T00:00:00.000Z', periodEnd: '2026-04-27T00:00:00.000Z', currency: 'JPY', total: '1' });
    expect(r.body.lines[0]).toMatchObject({ quantity: '2', amountExact: '1', amount: '1' });
  });

  it('a plan change inside the period splits it: usage per part, flat fees prorated by time', async () => {
    const events = [ev('mv1', 'mover', '2026-04-05T10:00:00Z', 'api.request', { route: '/a', ms: 1 }), ev('mv2', 'mover', '2026-04-12T10:00:00Z', 'api.request', { route: '/a', ms: 1 }), ev('mv3', 'mover', '2026-04-13T10:00:00Z', 'api.request', { route: '/a', ms: 1 })];
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(3);
    const r = await s.request('GET', '/v1/tenants/mover/invoices/upcoming');
    expect(r.body).toMatchObject({ plan: 'basic → proplus', periodStart: '2026-04-01T00:00:00.000Z', periodEnd: '2026-05-01T00:00:00.000Z' });
    // 10 of 30 days on basic, 20 on proplus; the share is exact to 12 decimals, then each line is rounded once.
    expect(r.body.lines.map((l: { name: string; quantity: string; amount: string; amountExact: string }) => [l.name, l.quantity, l.amount, l.amountExact])).toEqual([
      ['Basic subscription (basic, 2026-04-01 – 2026-04-11)', '0.333333333333', '16.33', '16.333333333317'],
      ['api_requests (unit) (basic, 2026-04-01 – 2026-04-11)', '1', '0.02', '0.02'],
      ['Pro+ subscription (proplus, 2026-04-11 – 2026-05-01)', '0.666666666667', '66.00', '66.000000000033'],
      ['api_requests (unit) (proplus, 2026-04-11 – 2026-05-01)', '2', '0.02', '0.02'],
    ]);
    expect(r.body.total).toBe('82.37');
  });

  it('refuses a plan change to an unknown plan or to another currency', async () => {
    await expect(startTestServer({ meters: METERS as never, config: { plans: PLANS, tenants: [{ id: 'x', plan: 'basic', billing: { planChanges: [{ plan: 'nope', effective: '2026-04-11T00:00:00Z' }, { plan: 'yen', effective: '2026-04-12T00:00:00Z' }] } }] } })).rejects.toThrow(
      /tenants\.0\.billing\.planChanges\.0\.plan.*unknown plan "nope"[\s\S]*planChanges\.1\.plan.*JPY per week/,
    );
  });

  it('answers 404 for a tenant without a priced plan, 403 for another tenant\'s portal key', async () => {
    expect((await s.request('GET', '/v1/tenants/gratis/invoices/upcoming')).status).toBe(404);
    expect((await s.request('GET', '/v1/tenants/nobody/invoices/upcoming')).status).toBe(404);
    const key = await s.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'kyoto' });
    expect((await s.request('GET', '/v1/tenants/acme/invoices/upcoming', undefined, { token: key.body.token })).status).toBe(403);
    expect((await s.request('GET', '/v1/tenants/kyoto/invoices/upcoming', undefined, { token: key.body.token })).status).toBe(200);
  });

  it('refuses prices without a currency, on unknown or non-additive meters, or filtering an unknown dimension', async () => {
    const bad = configSchema.safeParse({ plans: [{ id: 'x', prices: [{ meter: 'api_requests', model: 'unit', unitPrice: '1' }] }] });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('needs a currency');
    await expect(
      startTestServer({
        meters: METERS as never,
        config: { plans: [{ id: 'p', currency: 'EUR', prices: [{ meter: 'nope', model: 'unit', unitPrice: '1' }, { meter: 'latency_max', model: 'unit', unitPrice: '1' }, { meter: 'llm_tokens', model: 'unit', unitPrice: '1', filter: { region: 'eu' } }] }] },
      }),
    ).rejects.toThrow(/plans\.0\.prices\.0\.meter.*unknown meter "nope"[\s\S]*prices\.1\.meter.*additive[\s\S]*prices\.2\.filter\.region/);
  });
});
