import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

const clock = fixedClock('2026-04-02T12:00:00Z');
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock });
});
afterAll(async () => {
  await s.close();
});

describe('jobs: the batch layer on the embedded profile', () => {
  it('lists the jobs, runs reconcile-rollups over a day once, and finds rollups the raw events no longer back', async () => {
    const events = ['2026-03-31', '2026-04-01'].flatMap((day) =>
      Array.from({ length: 40 }, (_, i) => ce(`${day}-${i}`, i % 2 ? 'acme' : 'globex', `${day}T${String(i % 24).padStart(2, '0')}:15:00Z`, { route: '/r', method: 'GET', bytes: '0.5', ms: 3 })),
    );
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(80);
    const list = await s.request('GET', '/v1/jobs');
    expect(list.body.jobs).toContainEqual({ name: 'reconcile-rollups', description: expect.any(String), schedule: '30 0 * * *' });

    const first = await s.request('POST', '/v1/jobs/reconcile-rollups/run', { range: '2026-04-01' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ran: true, run: { key: 'reconcile-rollups:2026-04-01', status: 'succeeded', attempt: 1, output: { day: '2026-04-01', rawEvents: 40, discrepancies: 0 } } });
    expect((await s.request('POST', '/v1/jobs/reconcile-rollups/run', { range: '2026-04-01' })).body).toMatchObject({ ran: false, reason: 'done', run: { id: first.body.run.id } });

    // Two raw events of acme go missing behind the store's back (as a bad restore would): the
    // rollups still count them, and the check of that day says so, per meter.
    const conn = await (s.store as DuckDbStore).connect();
    await conn.run("DELETE FROM events WHERE tenant = 'acme' AND id IN ('2026-03-31-1', '2026-03-31-3')");
    conn.closeSync();
    const second = await s.request('POST', '/v1/jobs/reconcile-rollups/run', { range: '2026-03-31' });
    expect(second.body.run.output).toMatchObject({ rawEvents: 38, discrepancies: 2 });
    expect(second.body.run.output.details).toEqual([
      { meter: 'bytes', tenant: 'acme', raw: '9', rollups: '10' },
      { meter: 'requests', tenant: 'acme', raw: '18', rollups: '20' },
    ]);
    const runs = await s.request('GET', '/v1/jobs?job=reconcile-rollups');
    expect(runs.body.runs.map((r: { key: string; status: string }) => `${r.key} ${r.status}`)).toEqual(['reconcile-rollups:2026-03-31 succeeded', 'reconcile-rollups:2026-04-01 succeeded']);
    const bad = await s.request('POST', '/v1/jobs/reconcile-rollups/run', { range: 'yesterday' });
    expect(bad.body.run).toMatchObject({ status: 'failed', error: expect.stringMatching(/not a UTC day/) });
    expect((await s.request('POST', '/v1/jobs/nope/run', {})).status).toBe(404);
    const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/tally_job_runs_total\{job="reconcile-rollups",status="succeeded"\} 2/);
  });
});
