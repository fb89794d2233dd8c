import { serviceAvailable } from '@tally/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, KEY, REDIS_URL, eventually, freePort, lagOf, query, seriesOf, sendWithRetry } from './distributed-helpers.ts';

/**
 * #16 corrections on the distributed profile: a void and an amend flow through JetStream and the
 * worker like any event, so ClickHouse rollups, queries and the Redis live counters change
 * exactly; the originals stay in ClickHouse's raw table.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('corrections (distributed)', () => {
  const d = new Deployment(2, 5);
  afterAll(() => d.destroy(), 120_000);

  it('void and amend change ClickHouse answers and Redis counters exactly; the originals stay raw', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await d.api(Number(new URL(url).port));
    d.worker(0, 1);
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
    const at = (s: number) => new Date(hour.getTime() + s * 1000).toISOString();
    const ev = (id: string, tenant: string, s: number, units: string) => ({ specversion: '1.0', id, source: 'app', type: 'call', subject: tenant, time: at(s), data: { shard: 'a', units } });
    await sendWithRetry([url], 0, [ev('c1', 'acme', 1, '1.25'), ev('c2', 'acme', 2, '10'), ev('c3', 'acme', 3, '0.5'), ev('c4', 'beta', 4, '7')]);
    const range = `from=${hour.toISOString()}&to=${at(3600)}&groupBy=tenant`;
    const settled = async (n: number) => eventually(`${n} events stored`, async () => (await lagOf(url)) === 0 && Number((await d.clickhouse('SELECT count() FROM events'))[0]![0]) === n);
    await settled(4);
    expect((await query(url, 'units', range)).map((r) => [r.tenant, r.value])).toEqual([['acme', '11.75'], ['beta', '7']]);

    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await post('/v1/events/acme/c2/void', { reason: 'duplicate charge' })).status).toBe(201);
    expect((await post('/v1/events/acme/c1/amend', { reason: 'wrong units', event: ev('c1b', 'acme', 1, '2') })).status).toBe(201);
    // 4 events + 2 corrections + 1 replacement.
    await settled(7);
    expect((await query(url, 'units', range)).map((r) => [r.tenant, r.value])).toEqual([['acme', '2.5'], ['beta', '7']]);
    expect((await query(url, 'calls', range)).map((r) => [r.tenant, r.value])).toEqual([['acme', '2'], ['beta', '1']]);
    const redis = new Redis(REDIS_URL);
    try {
      const month = `m:${hour.toISOString().slice(0, 7)}`;
      const live = await d.counters(redis).read('acme', seriesOf('units'), month);
      expect(live).toEqual({ count: 2n, sum: 2_500_000_000_000n });
      expect(await d.counters(redis).read('acme', seriesOf('calls'), month)).toMatchObject({ count: 2n });
    } finally {
      redis.disconnect();
    }
    expect((await d.clickhouse("SELECT id FROM events WHERE tenant = 'acme' AND type = 'call' ORDER BY id")).map((r) => r[0])).toEqual(['c1', 'c1b', 'c2', 'c3']);
    expect((await post('/v1/events/acme/c2/void', { reason: 'again' })).status).toBe(409);
  }, 300_000);
});
