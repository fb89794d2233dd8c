import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, freePort, KEY } from './distributed-helpers.ts';
import { waitFor } from './webhook-receiver.ts';

/**
 * #17 per-tenant rejection rate on the distributed profile (2 API nodes, a worker, JetStream,
 * ClickHouse): each node sees 10 events of the tenant with 2 rejected, below `minEvents` (15)
 * alone; the statistics both nodes record reach ClickHouse through the stream, and the rule,
 * evaluated on any node, sums them: 4 of 20 rejected → one alert, fired once.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('ingest-rejections on the distributed profile (2 API nodes)', () => {
  const d = new Deployment(2, 120, undefined, 5000, undefined, [
    'tenants: [ { id: acme }, { id: globex } ]',
    'alerts:',
    "  schedule: '* * * * * *'",
    '  ingestStats: { enabled: true, flushSeconds: 1 }',
    "  rules: [ { id: rej, kind: ingest-rejections, rejection: { rate: '10%', minEvents: 15, windowMinutes: 5 } } ]",
  ]);
  afterAll(() => d.destroy(), 120_000);

  it("sums every node's counts: one alert for the tenant over the rate", async () => {
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    await Promise.all(ports.map((p) => d.api(p)));
    d.worker(0, 1);
    const api = async (url: string, method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return (await r.json()) as Record<string, unknown>;
    };
    const ev = (id: string, tenant: string, time = new Date().toISOString()) => ({ specversion: '1.0', id, source: 'dist', type: 'call', subject: tenant, time, data: { shard: 'a', units: 1 } });
    for (const [n, url] of urls.entries()) {
      const batch = [...Array.from({ length: 8 }, (_, i) => ev(`acme-${n}-${i}`, 'acme')), ev(`acme-${n}-old`, 'acme', '2020-01-01T00:00:00Z'), ev(`acme-${n}-future`, 'acme', '2099-01-01T00:00:00Z'), ...Array.from({ length: 20 }, (_, i) => ev(`globex-${n}-${i}`, 'globex'))];
      expect(await api(url, 'POST', '/v1/events', batch)).toMatchObject({ accepted: 28, rejected: 2 });
    }
    // Recorded once the minute is over (up to a minute), by both nodes, read back from ClickHouse.
    const stats = await waitFor('statistics of both nodes', async () => {
      const data = (await api(urls[1]!, 'GET', '/v1/events?type=tally.ingest.stats&tenant=acme&limit=100')).data as { data: { accepted: number; rejected: number } }[];
      return data.length === 2 ? data : undefined;
    }, 120_000);
    expect(stats.map((e) => e.data)).toEqual([{ accepted: 8, duplicates: 0, rejected: 2, codes: { INVALID_TIME: 2 } }, { accepted: 8, duplicates: 0, rejected: 2, codes: { INVALID_TIME: 2 } }]);
    const alerts = await waitFor('the rejection alert', async () => {
      const data = (await api(urls[0]!, 'GET', '/v1/alerts?rule=rej')).data as { subject: string; state: string; details: Record<string, unknown> }[];
      return data.length > 0 ? data : undefined;
    }, 60_000);
    // A few more evaluations (every second, on either node): still exactly one alert.
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await api(urls[1]!, 'GET', '/v1/alerts?rule=rej')).data as typeof alerts;
    expect(after).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ subject: 'acme', state: 'firing', details: { sent: 20, accepted: 16, rejected: 4, codes: { INVALID_TIME: 4 } } });
  }, 300_000);
});
