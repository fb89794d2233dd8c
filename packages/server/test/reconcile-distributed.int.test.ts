import { serviceAvailable } from '@tally/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { compileMeter } from '../src/meters/meter.ts';
import { DEMO_METERS, demoEvents } from './audit-helpers.ts';
import { CH_URL, Deployment, KEY, REDIS_URL, eventually, freePort, lagOf, sendWithRetry } from './distributed-helpers.ts';

/**
 * #16 reconciliation on the distributed profile: a clean run over demo data through JetStream,
 * a worker, ClickHouse and Redis finds nothing; a skewed Redis live counter is found by
 * `live-counters.vs-rollups` with the exact difference.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('reconciliation (distributed)', () => {
  const d = new Deployment(2, 5, CH_URL, 5000, DEMO_METERS);
  afterAll(() => d.destroy(), 120_000);

  it('clean over demo data; a skewed live counter is reported by its rule with the exact difference', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await d.api(Number(new URL(url).port));
    d.worker(0, 1);
    const DAY = 86_400_000;
    const dayStart = Math.floor(Date.now() / DAY) * DAY - DAY;
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const events = demoEvents(3000, dayStart, dayStart + DAY, 3);
    for (let i = 0; i < events.length; i += 1000) await sendWithRetry([url], 0, events.slice(i, i + 1000));
    await eventually('all events in ClickHouse', async () => (await lagOf(url)) === 0 && Number((await d.clickhouse('SELECT count() FROM events'))[0]![0]) === 3000);
    const reconcile = async () => {
      const res = await fetch(`${url}/v1/reconcile`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ day }) });
      expect(res.status).toBe(200);
      return (await res.json()) as { discrepancies: number; rules: { rule: string; status: string; checked: number; results: { scope: Record<string, string>; expected: string; actual: string; difference: string }[] }[] };
    };
    const clean = await reconcile();
    expect(clean.rules.filter((r) => r.status !== 'ok').map((r) => r.rule)).toEqual([]);
    for (const r of ['rollups.minute-vs-raw', 'rollups.hour-vs-raw', 'rollups.day-vs-raw', 'live-counters.vs-rollups']) expect(clean.rules.find((x) => x.rule === r)!.checked).toBeGreaterThan(10);

    const tenant = String(events[0]!.subject);
    const series = compileMeter(DEMO_METERS.find((m) => m.slug === 'api_requests')!).series;
    const redis = new Redis(REDIS_URL);
    try {
      await redis.hincrby(d.counters(redis).key(tenant, series, `d:${day}`), 'n', 2);
    } finally {
      redis.disconnect();
    }
    const skewed = await reconcile();
    expect(skewed.rules.filter((r) => r.status !== 'ok').map((r) => r.rule)).toEqual(['live-counters.vs-rollups']);
    expect(skewed.rules.find((r) => r.rule === 'live-counters.vs-rollups')!.results.map((r) => [r.scope.series, r.scope.tenant, r.scope.component, r.difference])).toEqual([[series, tenant, 'count', '2']]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/tally_reconciliation_discrepancies\{rule="live-counters.vs-rollups"\} 1/);
  }, 400_000);
});
