import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoShapedSeries } from '../src/capacity/synthetic.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

const NOW = '2026-11-20T00:00:00Z';
const clock = fixedClock(NOW);
const END = Date.parse(NOW);
const DAYS = 16;
const METERS = [
  { slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' }, unit: 'requests' },
  { slug: 'cpu_seconds', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.cpu', groupBy: {}, unit: 's' },
];
const PLANS = [
  {
    id: 'pro',
    currency: 'USD',
    prices: [{ name: 'Pro', model: 'flat', amount: '49.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.0001' }],
    entitlements: [
      { meter: 'api_requests', period: 'month', limit: 1_000_000, enforcement: 'soft' },
      { id: 'routed', meter: 'api_requests', period: 'month', limit: 1_000_000, enforcement: 'soft', filter: { route: '/a' } },
    ],
  },
  { id: 'basic', currency: 'USD', prices: [{ name: 'Basic', model: 'flat', amount: '5.00' }] },
];
const TENANTS = [
  { id: 'acme', plan: 'pro' },
  { id: 'globex', plan: 'basic' },
  { id: 'initech', plan: 'basic' },
  { id: 'bigco', plan: 'pro' },
];
const COSTS = [
  { name: 'database cluster', amount: '1200.00', currency: 'USD', allocateBy: 'api_requests', dedicated: { bigco: '300.00' } },
  { name: 'compute', amount: '0.07', currency: 'USD', allocateBy: 'cpu_seconds' },
  { name: 'support desk', amount: '90.00', currency: 'EUR', allocateBy: 'api_requests' },
];
// EUR → USD: 1.0825 for November (the December rate must not apply to it).
const RATES = [
  { from: 'EUR', to: 'USD', rate: '1.0825', effective: '2026-10-01' },
  { from: 'EUR', to: 'USD', rate: '1.1', effective: '2026-12-01' },
];
const series: Record<string, number[]> = {
  acme: demoShapedSeries({ hours: DAYS * 24, endMs: END, peakPerHour: 60, trend: 'growing', seed: 1 }),
  globex: demoShapedSeries({ hours: DAYS * 24, endMs: END, peakPerHour: 30, trend: 'steady', seed: 2 }),
  initech: demoShapedSeries({ hours: DAYS * 24, endMs: END, peakPerHour: 10, trend: 'steady', seed: 3 }),
  bigco: demoShapedSeries({ hours: DAYS * 24, endMs: END, peakPerHour: 5, trend: 'steady', seed: 4 }),
};
let s: TestServer;
let sent = 0;
const usage: Record<string, { requests: number; cpu: number }> = {};

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => {
    const st = statSync(join(dir, f));
    return sum + (st.isDirectory() ? dirBytes(join(dir, f)) : st.size);
  }, 0);
}

beforeAll(async () => {
  s = await startTestServer({ meters: METERS as never, clock, config: { plans: PLANS, tenants: TENANTS, costs: COSTS, exchangeRates: RATES } });
  let batch: unknown[] = [];
  const flush = async () => {
    const r = await s.request('POST', '/v1/events', batch);
    expect(r.status).toBe(200);
    sent += batch.length;
    batch = [];
  };
  for (const [tenant, ys] of Object.entries(series)) {
    usage[tenant] = { requests: 0, cpu: 0 };
    for (let h = 0; h < ys.length; h++) {
      const hourStart = END - (ys.length - h) * 3_600_000;
      for (let k = 0; k < ys[h]!; k++) {
        const inMonth = hourStart >= Date.UTC(2026, 10, 1);
        if (inMonth) {
          usage[tenant]!.requests++;
          usage[tenant]!.cpu += 3;
        }
        batch.push({ specversion: '1.0', id: `${tenant}-${h}-${k}`, source: 'test', type: 'api.request', subject: tenant, time: new Date(hourStart + (k * 3_600_000) / (ys[h]! + 1)).toISOString(), data: { route: k % 3 ? '/a' : '/b', cpu: '0.003' } });
        if (batch.length === 5000) await flush();
      }
    }
  }
  await flush();
}, 120_000);
afterAll(async () => {
  await s.close();
});

describe('capacity and costs (embedded)', () => {
  it('forecasts a tenant with its backtest beside the baseline, the method that ships and an interval', async () => {
    const r = await s.request('GET', '/v1/forecast?meter=api_requests&tenant=acme&horizon=7d');
    expect(r.status).toBe(200);
    const f = r.body;
    expect(f.approximate).toBe(true);
    expect(f.window).toBe('day');
    expect(f.data).toHaveLength(7);
    expect(f.data[0].windowStart).toBe('2026-11-20T00:00:00.000Z');
    expect(f.backtest.origins).toBeGreaterThan(0);
    const wins = f.backtest.candidate.smape < f.backtest.baseline.smape;
    expect(f.method).toBe(wins ? f.backtest.candidate.method : 'seasonal-naive');
    for (const p of f.data) expect(p.lower <= p.value && p.value <= p.upper).toBe(true);
    // A growing tenant's next week is above its last week.
    const lastWeek = series.acme!.slice(-168).reduce((a, b) => a + b, 0);
    expect(f.data.reduce((a: number, p: { value: number }) => a + p.value, 0)).toBeGreaterThan(lastWeek);
  });

  it('answers when usage will exceed a threshold with a date and an interval', async () => {
    const lastDay = series.acme!.slice(-24).reduce((a, b) => a + b, 0);
    const r = await s.request('GET', `/v1/forecast?meter=api_requests&tenant=acme&horizon=30d&threshold=${Math.round(lastDay * 1.3)}`);
    expect(r.status).toBe(200);
    const t = r.body.threshold;
    expect(t.at).toMatch(/^2026-1[12]-\d\dT00:00:00.000Z$/);
    expect(t.earliest <= t.at).toBe(true);
    expect(t.latest === null || t.latest >= t.at).toBe(true);
  });

  it('projects month quotas from the forecast once the quota-forecasts job ran; filtered entitlements stay linear', async () => {
    const ent = async () => (await s.request('GET', '/v1/tenants/acme/entitlements')).body.data as { id: string; usage: string; projected: string; projectionMethod: string; projectionBasis: string }[];
    const before = await ent();
    expect(before.map((e) => e.projectionMethod)).toEqual(['linear', 'linear']);
    const run = await s.request('POST', '/v1/jobs/quota-forecasts/run', { range: '2026-11-20T00' });
    expect(run.status).toBe(200);
    expect(run.body.run.output).toMatchObject({ forecasts: 2, skipped: 0 });
    const [whole, routed] = await ent();
    expect(whole!.projectionMethod).toBe('forecast');
    expect(whole!.projectionBasis).toMatch(/forecast of the rest of the period/);
    expect(routed!.projectionMethod).toBe('linear');
    // usage so far + the hourly forecast up to the month's end (Dec 1, 264 hours from now).
    const f = (await s.request('GET', '/v1/forecast?meter=api_requests&tenant=acme&horizon=11d&window=hour')).body;
    const rest = (f.data as { value: number }[]).reduce((a, p) => a + Math.max(0, p.value), 0);
    expect(Number(whole!.usage)).toBe(usage.acme!.requests);
    expect(Math.abs(Number(whole!.projected) - (usage.acme!.requests + rest))).toBeLessThan(1e-3);
    // The growing tenant's forecast projection is above the linear one (usage × 30/19).
    expect(Number(whole!.projected)).toBeGreaterThan((usage.acme!.requests * 30) / 19);
  });

  it('refuses bad forecast input with registry codes', async () => {
    expect((await s.request('GET', '/v1/forecast?meter=nope')).body.error.code).toBe('NOT_FOUND');
    expect((await s.request('GET', '/v1/forecast?meter=api_requests&horizon=soon')).body.error.code).toBe('VALIDATION_FAILED');
    const short = await s.request('GET', '/v1/forecast?meter=api_requests&tenant=newcomer');
    expect(short.status).toBe(422);
    expect(short.body.error.code).toBe('INSUFFICIENT_HISTORY');
  });

  it("attributes each cost exactly: parts sum to the whole, a dedicated tenant carries only its dedicated cost, shares follow usage", async () => {
    const r = await s.request('GET', '/v1/costs?period=2026-11');
    expect(r.status).toBe(200);
    const db = r.body.costs.find((c: { name: string }) => c.name === 'database cluster');
    const cents = (v: string) => BigInt(v.replace('.', ''));
    expect(db.total).toBe('1500.00');
    expect(db.parts.reduce((s: bigint, p: { amount: string }) => s + cents(p.amount), 0n) + cents(db.unallocated)).toBe(cents(db.total));
    expect(db.unallocated).toBe('0.00');
    const big = db.parts.filter((p: { tenant: string }) => p.tenant === 'bigco');
    expect(big).toEqual([{ tenant: 'bigco', amount: '300.00', basis: 'dedicated', usage: String(usage.bigco!.requests) }]);
    const shared = db.parts.filter((p: { basis: string }) => p.basis === 'shared');
    const total = shared.reduce((s: number, p: { tenant: string }) => s + usage[p.tenant]!.requests, 0);
    for (const p of shared) {
      expect(p.usage).toBe(String(usage[p.tenant]!.requests));
      const exact = (120000 * usage[p.tenant]!.requests) / total;
      expect(Math.abs(Number(cents(p.amount)) - exact)).toBeLessThan(1);
    }
    const compute = r.body.costs.find((c: { name: string }) => c.name === 'compute');
    expect(compute.parts.reduce((s: bigint, p: { amount: string }) => s + cents(p.amount), 0n)).toBe(7n);
    expect((await s.request('GET', '/v1/costs?period=2026-13')).body.error.code).toBe('VALIDATION_FAILED');
  });

  it('computes margin per tenant and plan from the upcoming invoices and flags tenants costing more than they pay', async () => {
    const r = await s.request('GET', '/v1/costs/margin?period=2026-11');
    expect(r.status).toBe(200);
    const acme = r.body.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
    expect(acme.revenueSource).toBe('upcoming');
    const upcoming = await s.request('GET', '/v1/tenants/acme/invoices/upcoming');
    expect(acme.revenue).toBe(upcoming.body.subtotal);
    const costs = await s.request('GET', '/v1/costs?period=2026-11');
    const ofAcme = costs.body.tenants.filter((t: { tenant: string }) => t.tenant === 'acme') as { currency: string; amount: string }[];
    const cents = (v: string) => BigInt(v.replace('.', '').replace('-', '')) * (v.startsWith('-') ? -1n : 1n);
    // The EUR part is converted at November's rate, rounded once half-even to cents.
    const eur = cents(ofAcme.find((t) => t.currency === 'EUR')!.amount);
    const eurInUsd = (eur * 10825n + 5000n) / 10000n + ((eur * 10825n) % 10000n === 5000n && ((eur * 10825n) / 10000n) % 2n === 0n ? -1n : 0n);
    const cost = cents(ofAcme.find((t) => t.currency === 'USD')!.amount) + eurInUsd;
    expect(acme.currency).toBe('USD');
    expect(cents(acme.cost)).toBe(cost);
    expect(acme.conversions).toEqual([{ from: 'EUR', to: 'USD', rate: '1.0825', inverse: false, effective: '2026-10-01T00:00:00.000Z' }]);
    expect(cents(acme.margin)).toBe(cents(acme.revenue) - cost);
    expect(acme.flagged).toBe(cents(acme.margin) < 0n);
    expect(r.body.tenants.some((t: { flagged: boolean }) => t.flagged)).toBe(true);
    const pro = r.body.plans.find((p: { plan: string }) => p.plan === 'pro');
    const proTenants = r.body.tenants.filter((t: { plan: string }) => t.plan === 'pro');
    expect(cents(pro.margin)).toBe(proTenants.reduce((s: bigint, t: { margin: string }) => s + cents(t.margin), 0n));
    // In EUR: the USD revenue and costs divided by the configured EUR → USD rate, stated.
    const inEur = (await s.request('GET', '/v1/costs/margin?period=2026-11&currency=EUR')).body;
    const acmeEur = inEur.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
    expect(inEur.currency).toBe('EUR');
    expect(acmeEur.currency).toBe('EUR');
    expect(acmeEur.conversions).toEqual([{ from: 'USD', to: 'EUR', rate: '1.0825', inverse: true, effective: '2026-10-01T00:00:00.000Z' }]);
    expect(Math.abs(Number(acmeEur.revenue) - Number(acme.revenue) / 1.0825)).toBeLessThanOrEqual(0.005);
    expect((await s.request('GET', '/v1/costs/margin?period=2026-11&currency=XYZ1')).body.error.code).toBe('VALIDATION_FAILED');
    // No rate to JPY: no margin, said so.
    const jpy = (await s.request('GET', '/v1/costs/margin?period=2026-11&currency=JPY')).body.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
    expect(jpy.margin).toBeNull();
    expect(jpy.note).toMatch(/no exchange rate from .*USD.* to JPY/);
  });

  it("plans storage from measured bytes per event, within 10 % of the data directory's size", async () => {
    const r = await s.request('GET', '/v1/capacity?eventsPerDay=100000&rawDays=30');
    expect(r.status).toBe(200);
    const p = r.body;
    expect(p.engine).toBe('duckdb');
    expect(p.storedEvents).toBe(sent);
    expect(p.retentionDays.raw).toBe(30);
    const raw = p.tiers.find((t: { tier: string }) => t.tier === 'raw');
    expect(raw.projectedBytes).toBe(Math.round(raw.bytesPerEvent * 100000 * 30));
    const actual = dirBytes(s.dataDir);
    const planned = p.total.bytesPerEvent * sent;
    console.log(`capacity: ${sent} events, planner ${p.total.bytesPerEvent.toFixed(1)} B/event → ${planned.toFixed(0)} B; data dir ${actual} B (ratio ${(planned / actual).toFixed(3)})`);
    expect(Math.abs(planned - actual) / actual).toBeLessThan(0.1);
    // Without a what-if, events per day come from the forecast of the first COUNT meter.
    const f = await s.request('GET', '/v1/capacity');
    expect(f.body.eventsPerDayBasis).toMatch(/forecast of meter "api_requests"/);
  });
});
