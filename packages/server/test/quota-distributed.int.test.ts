import { serviceAvailable } from '@tally/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment, eventually, freePort, KEY } from './distributed-helpers.ts';
import { burst, usageOn } from './quota-helpers.ts';

const ready = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

const LIMIT = 10_000;
const INFLIGHT = 400;
const ATTEMPTS = LIMIT + 1_000;
const NODES = 3;
const LEASE_MS = 1000;
const CHUNK_PERMILLE = 10; // 100 calls per lease

const plan = (id: string, mode: string) => `  - { id: ${id}, entitlements: [{ meter: calls, period: month, limit: ${LIMIT}, mode: ${mode} }] }`;

describe.skipIf(!ready)(`quotas across ${NODES} API nodes (loopback), hard limit ${LIMIT}, ${INFLIGHT} calls in flight`, () => {
  let d: Deployment;
  let urls: string[];

  beforeAll(async () => {
    d = new Deployment(2, 120, undefined, undefined, undefined, [
      // A loaded 2-core CI box: timeouts generous enough that only a real outage trips them.
      `quotas: { syncMs: 200, leaseMs: ${LEASE_MS}, leaseChunkPermille: ${CHUNK_PERMILLE}, commandTimeoutMs: 20000 }`,
      'server: { headersTimeoutMs: 120000, requestTimeoutMs: 120000, keepAliveTimeoutMs: 600000, idleTimeoutMs: 600000 }',
      'plans:',
      plan('central', 'central'),
      plan('leased', 'leased'),
      plan('local', 'local'),
      '  - { id: small, entitlements: [{ meter: calls, period: month, limit: 5 }] }',
      'tenants:',
      '  - { id: qc, plan: central }',
      '  - { id: ql, plan: leased }',
      '  - { id: qo, plan: local }',
      '  - { id: qv, plan: central }',
      '  - { id: qg, plan: small }',
    ]);
    const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));
    await Promise.all(ports.map((p) => d.api(p)));
    urls = ports.map((p) => `http://127.0.0.1:${p}`);
  }, 240_000);

  afterAll(async () => {
    await d?.destroy();
  }, 120_000);

  it('central: exactly the limit is admitted, and every node reads it', async () => {
    const r = await burst(urls, 'qc', ATTEMPTS, INFLIGHT);
    console.log(`[quota] central: ${r.granted} granted, ${r.denied} denied of ${ATTEMPTS} (overshoot ${r.granted - LIMIT})`, r.decidedBy);
    expect(r.other).toEqual({});
    expect(r.granted).toBe(LIMIT);
    expect(r.decidedBy).toEqual({ 'counters:central': ATTEMPTS });
    for (const url of urls) expect(await usageOn(url, 'qc')).toBe(String(LIMIT));
  }, 300_000);

  it(`leased: never above the limit; the units left in leases (≤ ${NODES} × chunk) come back when they lapse`, async () => {
    const chunk = (LIMIT * CHUNK_PERMILLE) / 1000;
    const first = await burst(urls, 'ql', ATTEMPTS, INFLIGHT);
    console.log(`[quota] leased: ${first.granted} granted of ${ATTEMPTS} (overshoot ${first.granted - LIMIT}, bound 0; left in leases ${LIMIT - first.granted}, bound ${NODES * chunk})`, first.decidedBy);
    expect(first.other).toEqual({});
    expect(first.granted).toBeLessThanOrEqual(LIMIT);
    expect(LIMIT - first.granted).toBeLessThanOrEqual(NODES * chunk);
    expect(first.decidedBy).toEqual({ 'counters:leased': ATTEMPTS });
    // Once the leases lapse their unspent units are back in Redis and can be consumed elsewhere.
    await eventually('leases returned', async () => (await usageOn(urls[0]!, 'ql')) === String(first.granted), 30_000);
    const second = await burst(urls, 'ql', 1_000, 50, 'ql-again');
    console.log(`[quota] leased, after the leases lapsed: ${second.granted} more granted; total ${first.granted + second.granted}`);
    expect(first.granted + second.granted).toBe(LIMIT);
  }, 300_000);

  it('local: the overshoot is measured, and every admitted call is counted once synced', async () => {
    const r = await burst(urls, 'qo', ATTEMPTS, INFLIGHT);
    console.log(`[quota] local: ${r.granted} granted of ${ATTEMPTS} (overshoot ${r.granted - LIMIT} = ${((100 * (r.granted - LIMIT)) / LIMIT).toFixed(2)} % of the limit, syncMs 200)`, r.decidedBy);
    expect(r.other).toEqual({});
    expect(r.granted).toBeGreaterThanOrEqual(LIMIT);
    expect(r.decidedBy).toEqual({ 'counters:local': ATTEMPTS });
    await eventually('local consumption synced', async () => (await Promise.all(urls.map((u) => usageOn(u, 'qo')))).every((u) => u === String(r.granted)), 30_000);
  }, 300_000);

  it('an override made on node A is in force on node C (propagation measured)', async () => {
    const res = await fetch(`${urls[0]}/v1/tenants/qv`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ entitlements: { calls: { limit: 5 } } }) });
    expect(res.status).toBe(200);
    const t0 = performance.now();
    const limitOn = async (url: string) => ((await (await fetch(`${url}/v1/tenants/qv/entitlements/calls`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { limit: string }).limit;
    await eventually('override on node C', async () => (await limitOn(urls[2]!)) === '5', 30_000);
    const ms = performance.now() - t0;
    console.log(`[quota] override PUT on node A, in force on node C after ${ms.toFixed(0)} ms (nodes poll every 250 ms)`);
    const r = await burst([urls[2]!], 'qv', 8, 1, 'qv-c');
    expect([r.granted, r.denied]).toEqual([5, 3]);
  }, 120_000);

  it('a grant made on node A is in force on node C (propagation measured)', async () => {
    const res = await fetch(`${urls[0]}/v1/tenants/qg/grants`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'topup', entitlement: 'calls', amount: 3 }) });
    expect(res.status).toBe(201);
    const t0 = performance.now();
    const limitOn = async (url: string) => ((await (await fetch(`${url}/v1/tenants/qg/entitlements/calls`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { limit: string }).limit;
    await eventually('grant on node C', async () => (await limitOn(urls[2]!)) === '8', 30_000);
    const ms = performance.now() - t0;
    console.log(`[quota] grant POST on node A, in force on node C after ${ms.toFixed(0)} ms (nodes poll every 250 ms)`);
    const r = await burst([urls[2]!], 'qg', 10, 1, 'qg-c');
    expect([r.granted, r.denied]).toEqual([8, 2]);
    // What each grant holds is replayed from the rollups: it follows once a worker has stored the calls.
    d.worker(0, 1);
    const grantsOn = async (url: string) => ((await (await fetch(`${url}/v1/tenants/qg/grants`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { data: { remaining: string; drawn: string }[] }).data;
    await eventually('grant drawn, read on node B', async () => JSON.stringify((await grantsOn(urls[1]!)).map((g) => [g.remaining, g.drawn])) === '[["0","3"]]', 180_000);
    // Voided on node B: the limit on node A falls back to what was drawn (nothing left to draw).
    expect((await fetch(`${urls[1]}/v1/tenants/qg/grants/topup/void`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
  }, 300_000);
});
