import { serviceAvailable } from '@tally/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment, eventually, freePort, KEY } from './distributed-helpers.ts';

const ready = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

const HOUR = 3_600_000;
// The nodes run on the real clock: samples 13, 7 and 1 hours ago, the last one 0 GB, so the integral
// (10 GB × 6 h + 20 GB × 6 h = 180 GB-h) does not move with now. It needs them inside this month.
const base = Math.floor(Date.now() / HOUR) * HOUR - 13 * HOUR;
const monthStart = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1);
const inMonth = base >= monthStart;

/** The soft TIME_WEIGHTED_SUM entitlement on the distributed profile: the integral comes from ClickHouse. */
describe.skipIf(!ready || !inMonth)('TIME_WEIGHTED_SUM entitlements (distributed, soft)', () => {
  let d: Deployment;
  let url: string;
  beforeAll(async () => {
    d = new Deployment(1, 120, undefined, undefined, [{ slug: 'gb_hours', eventType: 'resource.sample', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb', groupBy: {} }], [
      'plans:',
      '  - { id: storage, entitlements: [{ meter: gb_hours, period: month, limit: 300, enforcement: soft }] }',
      'tenants:',
      '  - { id: disk-d, plan: storage }',
    ]);
    const port = await freePort();
    await d.api(port);
    d.worker(0, 1);
    url = `http://127.0.0.1:${port}`;
  }, 240_000);
  afterAll(async () => {
    await d?.destroy();
  }, 120_000);

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const sample = (id: string, at: number, gb: number) => ({ specversion: '1.0', id, source: 'test', type: 'resource.sample', subject: 'disk-d', time: new Date(at).toISOString(), data: { gb } });

  it('reads 180 GB-h of 300 from the ClickHouse integral; a consumption against it is 400 VALIDATION_FAILED', async () => {
    expect((await call('POST', '/v1/events', [sample('d1', base, 10), sample('d2', base + 6 * HOUR, 20), sample('d3', base + 12 * HOUR, 0)])).body.accepted).toBe(3);
    // Wait until the worker has stored the samples (the query answers 180), before the first entitlement read.
    const q = `/v1/meters/gb_hours/query?tenant=disk-d&from=${new Date(monthStart).toISOString()}&to=${new Date(Date.now() + HOUR).toISOString()}`;
    await eventually('the samples are queryable', async () => (await call('GET', q)).body.data?.[0]?.value === '180');
    const e = (await call('GET', '/v1/tenants/disk-d/entitlements')).body.data[0];
    expect(e).toMatchObject({ meter: 'gb_hours', enforcement: 'soft', hasAccess: true, usage: '180', limit: '300', remaining: '120', overage: '0' });
    const c = await call('POST', '/v1/quota/consume', { tenant: 'disk-d', meter: 'gb_hours', amount: 1, idempotencyKey: 'c1', data: { gb: 1 } });
    expect([c.status, c.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  }, 300_000);
});
