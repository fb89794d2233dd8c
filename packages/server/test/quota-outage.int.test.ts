import { serviceAvailable } from '@tally/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deployment, eventually, freePort, KEY, query } from './distributed-helpers.ts';
import { burst, PrivateRedis, usageOn, type Burst } from './quota-helpers.ts';

const ready = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

const TENANTS = { open: 'fo', closed: 'fc', 'open-then-closed': 'foc' } as const;
const plan = (policy: string) => `  - { id: ${policy}, entitlements: [{ meter: calls, period: month, limit: 1000000, mode: central, failurePolicy: ${policy} }] }`;

/** One consumption's answer: status, error code and who decided. */
async function consumeOnce(url: string, tenant: string, key: string): Promise<{ status: number; code?: string; decidedBy?: string }> {
  const res = await fetch(`${url}/v1/quota/consume`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ tenant, meter: 'calls', idempotencyKey: key, data: { units: 1 } }) });
  const body = (await res.json()) as { decidedBy?: { by: string; mode?: string; policy?: string }; error?: { code: string; details?: { decidedBy?: { by: string; mode?: string; policy?: string } } } };
  const d = body.decidedBy ?? body.error?.details?.decidedBy;
  return { status: res.status, ...(body.error ? { code: body.error.code } : {}), ...(d ? { decidedBy: `${d.by}:${d.mode ?? d.policy}` } : {}) };
}

describe.skipIf(!ready)('quotas while the quota Redis is stopped and restarted (empty) during traffic', () => {
  let d: Deployment;
  let redis: PrivateRedis;
  let urls: string[];
  const granted: Record<string, number> = { fo: 0, fc: 0, foc: 0 };
  const add = (tenant: string, b: Burst) => (granted[tenant]! += b.granted);

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    d = new Deployment(2, 120, undefined, undefined, undefined, [
      `quotas: { redisUrl: ${redis.url}, failOpenSeconds: 15, commandTimeoutMs: 5000 }`,
      // Kept-alive connections outlive the test's pauses (a server closing one as the client reuses it is not the subject here).
      'server: { keepAliveTimeoutMs: 600000, idleTimeoutMs: 600000 }',
      'plans:',
      ...Object.keys(TENANTS).map(plan),
      'tenants:',
      ...Object.entries(TENANTS).map(([p, t]) => `  - { id: ${t}, plan: ${p} }`),
    ]);
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    await Promise.all(ports.map((p) => d.api(p)));
    d.worker(0, 1);
    urls = ports.map((p) => `http://127.0.0.1:${p}`);
  }, 240_000);

  afterAll(async () => {
    await d?.destroy();
    await redis?.stop();
  }, 120_000);

  it('each failure policy decides as configured, nothing throws, and the counters are exact again after recovery', async () => {
    for (const t of Object.values(TENANTS)) {
      const b = await burst(urls, t, 300, 30, `${t}-before`);
      expect([b.granted, b.other]).toEqual([300, {}]);
      add(t, b);
    }
    await redis.stop();

    // open-then-closed first, while the outage is young: admitted, and the answer says by which policy.
    const young = await Promise.all(urls.map((u, i) => consumeOnce(u, 'foc', `foc-young-${i}`)));
    expect(young).toEqual(urls.map(() => ({ status: 200, decidedBy: 'failure-policy:open-then-closed' })));
    granted.foc! += young.length;
    const open = await burst(urls, 'fo', 90, 30, 'fo-outage');
    expect([open.granted, open.other, open.decidedBy]).toEqual([90, {}, { 'failure-policy:open': 90 }]);
    add('fo', open);
    const closed = await burst(urls, 'fc', 90, 30, 'fc-outage');
    expect([closed.granted, closed.denied, closed.other, closed.decidedBy]).toEqual([0, 0, { '503 QUOTA_UNAVAILABLE': 90 }, { 'failure-policy:closed': 90 }]);
    // Past failOpenSeconds the same policy denies.
    let n = 0;
    await eventually('open-then-closed denies', async () => {
      const r = await consumeOnce(urls[n % 3]!, 'foc', `foc-late-${n++}`);
      expect(r.decidedBy).toBe('failure-policy:open-then-closed');
      if (r.status === 200) granted.foc!++;
      else expect([r.status, r.code]).toEqual([503, 'QUOTA_UNAVAILABLE']);
      return r.status === 503;
    }, 120_000);
    console.log(`[quota outage] open admitted ${open.granted}/90, closed denied ${closed.other['503 QUOTA_UNAVAILABLE']}/90, open-then-closed admitted ${young.length + n - 1} then denied`);

    await redis.start(); // empty: every counter and the epoch key are gone
    // Each node's client reconnects on its own schedule (≤ 100 ms): probe with the closed tenant, which records nothing until it does.
    let probe = 0;
    for (const url of urls) {
      await eventually(`${url} reconnected`, async () => {
        const r = await consumeOnce(url, 'fc', `fc-probe-${probe++}`);
        if (r.status === 200) granted.fc!++;
        else expect([r.status, r.decidedBy]).toEqual([503, 'failure-policy:closed']);
        return r.status === 200 && r.decidedBy === 'counters:central';
      }, 60_000);
    }
    for (const t of Object.values(TENANTS)) {
      const b = await burst(urls, t, 150, 30, `${t}-after`);
      expect([b.granted, b.other, b.decidedBy]).toEqual([150, {}, { 'counters:central': 150 }]);
      add(t, b);
    }
    // Re-seeded from the exact rollups once the pipeline has them: every node reads every admitted call.
    for (const [t, want] of Object.entries(granted)) {
      await eventually(`${t} re-seeded to ${want}`, async () => {
        const rollup = await query(urls[0]!, 'calls', `tenant=${t}&from=2000-01-01T00:00:00Z`);
        const live = await Promise.all(urls.map((u) => usageOn(u, t)));
        return rollup[0]?.value === String(want) && live.every((v) => v === String(want));
      }, 120_000);
    }
    console.log('[quota outage] after recovery, live usage = rollups = admitted:', granted);
  }, 600_000);
});
