import { OpenMeter, type Event, type MeterQueryResult } from '@openmeter/sdk';
import { OpenMeter as OpenMeterPortal } from '@openmeter/sdk/portal';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, KEY, eventually, freePort, lagOf } from './distributed-helpers.ts';
import { at, failure, tokyo } from './openmeter-helpers.ts';

/**
 * Issue #13 §2 on the distributed profile: the unmodified `@openmeter/sdk` against an API node
 * (JetStream, a worker, ClickHouse, Redis). Meters come from the config file there (DIST_METERS:
 * `calls` COUNT by shard, `units` SUM of $.units), so "create a meter" claims the configured one.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('@openmeter/sdk against Tally (distributed)', () => {
  const d = new Deployment(2, 5);
  afterAll(() => d.destroy(), 120_000);

  it('meters, a batch ingested twice and counted once, subject/group-by/time-zone queries and portal tokens', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await d.api(Number(new URL(url).port));
    d.worker(0, 1);
    const om = new OpenMeter({ baseUrl: url, apiKey: KEY });

    expect((await om.meters.list())!.map((m) => m.slug)).toEqual(['calls', 'units']);
    const units = (await om.meters.create({ slug: 'units', name: 'Units', aggregation: 'SUM', eventType: 'call', valueProperty: '$.units' }))!;
    expect(units).toMatchObject({ slug: 'units', name: 'Units', aggregation: 'SUM', annotations: { 'tally.meter': 'units' } });
    expect(await om.meters.get(units.id)).toEqual(units);
    const refused = await failure(om.meters.create({ slug: 'other', aggregation: 'COUNT', eventType: 'call' }));
    expect(refused.status).toBe(409);
    expect(refused.getField('detail')).toMatch(/config/);

    const batch: Event[] = [
      { id: 'd1', source: 'app', type: 'call', subject: 'acme', time: at(10), data: { shard: 'a', units: '1.5' } },
      { id: 'd2', source: 'app', type: 'call', subject: 'acme', time: at(16), data: { shard: 'b', units: 2 } },
      { id: 'd3', source: 'app', type: 'call', subject: 'beta', time: at(10), data: { shard: 'a', units: 4 } },
    ];
    expect(await om.events.ingest(batch)).toBeUndefined();
    expect(await om.events.ingest(batch)).toBeUndefined();
    const stored = async () => Number((await d.clickhouse('SELECT count() FROM events'))[0]![0]);
    await eventually('consumer lag 0 and the batch in ClickHouse', async () => (await lagOf(url)) === 0 && (await stored()) >= 3);
    expect(await stored()).toBe(3);
    expect((await om.meters.query('units', { from: at(-9), to: at(39) })).data.map((r) => r.value)).toEqual([7.5]);
    const byDay = await om.meters.query('calls', { ...tokyo(), subject: ['acme'], groupBy: ['shard'] });
    expect(byDay.data).toEqual([
      { value: 1, windowStart: at(-9), windowEnd: at(15), subject: 'acme', groupBy: { shard: 'a' } },
      { value: 1, windowStart: at(15), windowEnd: at(39), subject: 'acme', groupBy: { shard: 'b' } },
    ]);
    const bySubject = (await om.meters.queryPost('units', { from: at(-9), to: at(39), groupBy: ['subject'] })) as MeterQueryResult;
    expect(bySubject.data.map((r) => [r.subject, r.value])).toEqual([
      ['acme', 3.5],
      ['beta', 4],
    ]);

    const t = (await om.portal.create({ subject: 'acme', allowedMeterSlugs: ['units'] }))!;
    const portal = new OpenMeterPortal({ baseUrl: url, portalToken: t.token! });
    expect((await portal.query('units', tokyo())).data.map((r) => [r.subject, r.value])).toEqual([
      ['acme', 1.5],
      ['acme', 2],
    ]);
    expect((await failure(portal.query('calls', tokyo()))).status).toBe(403);
    const short = (await om.portal.create({ subject: 'acme', expiresAt: new Date(Date.now() + 3000) }))!;
    const soon = new OpenMeterPortal({ baseUrl: url, portalToken: short.token! });
    expect((await soon.query('calls', tokyo())).data.map((r) => r.value)).toEqual([1, 1]);
    await new Promise((r) => setTimeout(r, short.expiresAt!.getTime() + 50 - Date.now()));
    expect((await failure(soon.query('calls', tokyo()))).status).toBe(401);
  }, 300_000);
});
