import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { fixedClock } from './helpers.ts';

/**
 * Data-health and business alert sources on real job runs and real billing: a reconciliation
 * that finds rollups the raw events no longer back, a failed job run, a finalized invoice (one
 * event alert) and a credit balance spent down to the threshold.
 */
const clock = fixedClock('2026-04-20T12:00:00Z');
let s: TestServer;
const ev = (id: string, tenant: string, time: string) => ({ specversion: '1.0', id, source: 'test', type: 'api.request', subject: tenant, time, data: {} });

beforeAll(async () => {
  s = await startTestServer({
    meters: [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: {} }],
    clock,
    config: {
      plans: [{ id: 'pro', currency: 'USD', prices: [{ name: 'Pro', model: 'flat', amount: '49.00' }, { meter: 'api_requests', model: 'unit', unitPrice: '0.10' }] }],
      tenants: [{ id: 'acme', plan: 'pro' }, { id: 'blocked', plan: 'pro' }],
      alerts: {
        schedule: '0 0 1 1 *',
        rules: [
          { id: 'recon', kind: 'reconciliation' },
          { id: 'jobs', kind: 'job-failed' },
          { id: 'invoices', kind: 'invoice-finalized' },
          { id: 'credit', kind: 'credit-low', minCredit: '10' },
        ],
      },
    },
  });
});
afterAll(() => s.close());

describe('data-health and business alert sources', () => {
  it('reconciliation discrepancies, failed jobs, finalized invoices and low credit become alerts', async () => {
    const events = [ev('a1', 'acme', '2026-04-05T10:00:00Z'), ev('a2', 'acme', '2026-04-05T11:00:00Z'), ev('b1', 'blocked', '2026-04-05T10:00:00Z'), ev('b2', 'blocked', '2026-04-05T11:00:00Z')];
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(4);
    const conn = await (s.store as DuckDbStore).connect(); // a raw event lost behind the store's back
    await conn.run("DELETE FROM events WHERE tenant = 'blocked' AND id = 'b2'");
    conn.closeSync();
    expect((await s.request('POST', '/v1/tenants/acme/credits', { amount: '30.00', currency: 'USD', reason: 'welcome credit' })).status).toBe(201);
    const evaluate = async (range: string) => (await s.request('POST', '/v1/jobs/alerts-evaluate/run', { range })).body.run.output as Record<string, unknown>;
    expect(await evaluate('before')).toMatchObject({ fired: 0, events: 0 }); // 30 USD of credit: not low

    expect((await s.request('POST', '/v1/jobs/reconcile-rollups/run', { range: '2026-04-05' })).body.run.output).toMatchObject({ discrepancies: 1 });
    // The named rules of the reconcile job (audit): the lost raw event, found by each rollup rule.
    const recon = (await s.request('POST', '/v1/reconcile', { day: '2026-04-05', rules: ['rollups.minute-vs-raw', 'rollups.hour-vs-raw'] })).body as { discrepancies: number };
    expect(recon.discrepancies).toBe(2);
    clock.set('2026-05-01T02:00:00Z');
    expect((await s.request('POST', '/v1/jobs/reconcile-rollups/run', { range: 'not-a-day' })).body.run.status).toBe('failed');
    expect((await s.request('POST', '/v1/jobs/invoices/run', { range: 'may' })).body.run.output).toMatchObject({ drafted: 2 });
    // The raw-event check runs when an invoice is finalized (billing): the tenant whose raw event was lost is refused.
    const lost = ((await s.request('GET', '/v1/invoices?tenant=blocked')).body.data as { id: string }[])[0]!;
    expect((await s.request('POST', `/v1/invoices/${lost.id}/finalize`)).status).toBe(409);
    const acme = ((await s.request('GET', '/v1/invoices?tenant=acme')).body.data as { id: string }[])[0]!;
    expect((await s.request('POST', `/v1/invoices/${acme.id}/finalize`)).body).toMatchObject({ status: 'finalized', total: '19.20' });

    expect(await evaluate('after')).toMatchObject({ fired: 5, events: 1, errors: [] });
    const alerts = (await s.request('GET', '/v1/alerts')).body.data as { rule: string; subject: string; tenant: string; state: string; summary: string }[];
    expect(alerts.map((a) => [a.rule, a.subject, a.state]).sort()).toEqual([
      ['credit', 'acme/USD', 'firing'],
      ['invoices', acme.id, 'event'],
      ['jobs', 'reconcile-rollups:not-a-day', 'firing'],
      ['recon', 'reconcile-rollups:2026-04-05', 'firing'],
      ['recon', 'rollups.hour-vs-raw', 'firing'],
      ['recon', 'rollups.minute-vs-raw', 'firing'],
    ]);
    expect(alerts.find((a) => a.subject === 'rollups.hour-vs-raw')).toMatchObject({ tenant: 'blocked', summary: expect.stringContaining('expected 1, actual 2, difference 1') });
    expect(alerts.find((a) => a.rule === 'credit')!.summary).toBe('acme: credit balance 0.00 USD (at or below 10)');
    expect(alerts.find((a) => a.rule === 'invoices')!.summary).toMatch(/^invoice INV-2026-\d+ finalized for acme: 19\.20 USD$/);
    expect(await evaluate('again')).toMatchObject({ fired: 0, events: 0, resolved: 0 });
    // The raw event restored: the next reconcile run of those rules is ok, and their alerts resolve.
    const fix = await (s.store as DuckDbStore).connect();
    await fix.run("INSERT INTO events SELECT * REPLACE ('b2' AS id) FROM events WHERE tenant = 'blocked' AND id = 'b1'");
    fix.closeSync();
    expect(((await s.request('POST', '/v1/reconcile', { day: '2026-04-05', rules: ['rollups.minute-vs-raw', 'rollups.hour-vs-raw'] })).body as { discrepancies: number }).discrepancies).toBe(0);
    expect(await evaluate('restored')).toMatchObject({ fired: 0, resolved: 2 });
    const states = ((await s.request('GET', '/v1/alerts?rule=recon')).body.data as { subject: string; state: string }[]).map((a) => [a.subject, a.state]).sort();
    expect(states).toEqual([['reconcile-rollups:2026-04-05', 'firing'], ['rollups.hour-vs-raw', 'resolved'], ['rollups.minute-vs-raw', 'resolved']]);
  });
});
