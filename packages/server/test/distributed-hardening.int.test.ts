import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, KEY, eventually, freePort, lagOf, query } from './distributed-helpers.ts';

/**
 * Issue #12 on the distributed profile: the identifier rules and the poisoned batch through an
 * API node, JetStream, a worker and ClickHouse. A poisoned batch is refused per event and
 * ingest goes on; hostile strings in queries are a 400 or an exact answer, never a 5xx.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('distributed profile: hostile identifiers', () => {
  const d = new Deployment(2, 3);
  afterAll(() => d.destroy(), 120_000);

  it('refuses a poisoned batch per event, keeps ingesting for everyone, and answers hostile queries', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await d.api(Number(new URL(url).port));
    d.worker(0, 1);
    const post = async (events: unknown[]) => {
      const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
      return { status: res.status, body: (await res.json()) as { accepted?: number; receipts?: { status: string; code?: string }[]; error?: { code: string; details?: { receipts: { status: string; code?: string }[] } } } };
    };
    const codes = (r: Awaited<ReturnType<typeof post>>) => (r.body.receipts ?? r.body.error!.details!.receipts).map((x) => x.code ?? x.status);
    const time = new Date().toISOString();
    const ev = (id: string, tenant: string, extra: Record<string, unknown> = {}) => ({ specversion: '1.0', id, source: 'dist', type: 'call', subject: tenant, time, data: { shard: 1, units: '1' }, ...extra });

    expect(codes(await post([ev('\ud800', 'poison'), ev('\udfff', 'poison'), ev('\ufffd', 'poison'), ev('fine', 'poison')]))).toEqual(['INVALID_IDENTIFIER', 'INVALID_IDENTIFIER', 'accepted', 'accepted']);
    expect(codes(await post([ev('q\ud800', 'poison')]))).toEqual(['INVALID_IDENTIFIER']);
    expect(codes(await post([ev('q\udfff', 'poison')]))).toEqual(['INVALID_IDENTIFIER']);
    expect(codes(await post([ev('\ufffd', 'poison')]))).toEqual(['duplicate']);
    expect(codes(await post([ev('x', 'ctl\ud800'), ev('y', 'nul\u0000'), ev('z', 'ok', { data: { shard: 'a\u0000', units: '1' } }), ev('w', 'ok', { type: 'tally.quota.warning' }), ev('v', 'ok', { source: 'tally/quota' })]))).toEqual([
      'INVALID_IDENTIFIER',
      'INVALID_IDENTIFIER',
      'INVALID_IDENTIFIER',
      'RESERVED_NAMESPACE',
      'RESERVED_NAMESPACE',
    ]);
    for (let b = 0; b < 20; b++) {
      const ok = await post(Array.from({ length: 50 }, (_, i) => ev(`w${b}-${i}`, "well'behaved\\")));
      expect(ok.status).toBe(200);
      expect(ok.body.accepted).toBe(50);
    }
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await eventually('consumer lag 0 and every event in ClickHouse', async () => {
      if ((await lagOf(url)) !== 0) return false;
      const [[n]] = (await d.clickhouse('SELECT count() FROM events')) as [[string]];
      return Number(n) >= 1002;
    });
    const range = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 600_000).toISOString()}`;
    expect((await query(url, 'calls', `${range}&groupBy=tenant`)).map((r) => [r.tenant, r.value]).sort()).toEqual([
      ['poison', '2'],
      ["well'behaved\\", '1000'],
    ]);
    expect((await query(url, 'units', `${range}&tenant=${encodeURIComponent("well'behaved\\")}`))[0]!.value).toBe('1000');
    expect(await query(url, 'calls', `${range}&filterGroupBy[shard]=${encodeURIComponent("1' OR '1'='1")}`)).toEqual([]);
    for (const bad of [`tenant=a%00b`, `filterGroupBy[shard]=a%00b`]) {
      const res = await fetch(`${url}/v1/meters/calls/query?${range}&${bad}`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_IDENTIFIER');
    }
    const [[rows]] = (await d.clickhouse("SELECT count() FROM events WHERE tenant = 'poison'")) as [[string]];
    expect(rows).toBe('2');

    // The batch layer on this profile: runs recorded in ClickHouse under a Redis lease; the raw
    // events of today reconcile with the rollups.
    const today = new Date().toISOString().slice(0, 10);
    const run = await fetch(`${url}/v1/jobs/reconcile-rollups/run`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ range: today }) });
    expect(await run.json()).toMatchObject({ ran: true, run: { status: 'succeeded', output: { rawEvents: 1002, discrepancies: 0 } } });
    const [[recorded]] = (await d.clickhouse(`SELECT count() FROM job_runs FINAL WHERE key = 'reconcile-rollups:${today}' AND status = 'succeeded'`)) as [[string]];
    expect(recorded).toBe('1');
  }, 300_000);
});
