import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

const clock = fixedClock('2026-04-01T12:00:00Z');
const METERS = [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: {} }];
const PLANS = [{ id: 'daily', currency: 'USD', billingPeriod: 'day', prices: [{ meter: 'api_requests', model: 'unit', unitPrice: '0.50' }] }];
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({
    meters: METERS as never,
    clock,
    config: { plans: PLANS, tenants: [{ id: 'acme', plan: 'daily' }], billing: { graceHours: 1, autoFinalize: true, reviewHours: 48 } },
  });
});
afterAll(async () => {
  await s.close();
});

const ev = (id: string, time: string) => ({ specversion: '1.0', id, source: 'test', type: 'api.request', subject: 'acme', time, data: {} });
const run = async (range: string) => (await s.request('POST', '/v1/jobs/invoices/run', { range })).body.run.output as Record<string, number>;
const invoices = async () =>
  ((await s.request('GET', '/v1/invoices?tenant=acme')).body.data as { periodStart: string; status: string; number: string | null; total: string; lines: { kind: string; quantity: string }[] }[]).sort((a, b) => a.periodStart.localeCompare(b.periodStart));

describe('billing: automatic finalization after a review delay', () => {
  it('keeps due drafts open for reviewHours, recomputing them (late events land on them, not as adjustments), then finalizes each', async () => {
    expect((await s.request('POST', '/v1/events', [ev('d1a', '2026-04-01T10:00:00Z'), ev('d1b', '2026-04-01T11:00:00Z')])).body.accepted).toBe(2);

    clock.set('2026-04-02T01:30:00Z'); // April 1 is due (period end + 1 h grace), review until April 4, 01:00
    expect(await run('r1')).toMatchObject({ drafted: 1, finalized: 0, inReview: 1 });
    clock.set('2026-04-02T11:00:00Z');
    expect((await s.request('POST', '/v1/events', [ev('d2a', '2026-04-02T10:00:00Z')])).body.accepted).toBe(1);
    clock.set('2026-04-03T01:30:00Z'); // April 2 due too; April 1 is an older draft still in review
    expect(await run('r2')).toMatchObject({ drafted: 2, finalized: 0, inReview: 2 });
    expect((await invoices()).map((i) => [i.periodStart.slice(0, 10), i.status, i.total])).toEqual([
      ['2026-04-01', 'draft', '1.00'],
      ['2026-04-02', 'draft', '0.50'],
    ]);

    // A late event of April 1 arrives during its review: the next run's draft holds it.
    clock.set('2026-04-03T02:00:00Z');
    expect((await s.request('POST', '/v1/events', [ev('d1late', '2026-04-01T23:00:00Z')])).body.accepted).toBe(1);
    clock.set('2026-04-04T01:30:00Z'); // April 1's review is over
    // April 3 is due now too (no usage: a 0.00 draft); April 1 is finalized, 2 and 3 in review.
    expect(await run('r3')).toMatchObject({ drafted: 3, finalized: 1, inReview: 2 });
    const [apr1, apr2] = await invoices();
    expect(apr1).toMatchObject({ status: 'finalized', total: '1.50' });
    expect(apr1!.number).toMatch(/^INV-2026-\d{6}$/);
    expect(apr1!.lines.map((l) => [l.kind, l.quantity])).toEqual([['usage', '3']]);
    expect(apr2).toMatchObject({ status: 'draft', total: '0.50' });

    clock.set('2026-04-05T01:30:00Z');
    expect(await run('r4')).toMatchObject({ finalized: 1, inReview: 2 });
    expect((await invoices()).map((i) => [i.periodStart.slice(0, 10), i.status, i.total])).toEqual([
      ['2026-04-01', 'finalized', '1.50'],
      ['2026-04-02', 'finalized', '0.50'],
      ['2026-04-03', 'draft', '0.00'],
      ['2026-04-04', 'draft', '0.00'],
    ]);
  });
});
