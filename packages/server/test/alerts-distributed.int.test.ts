import { appendFileSync } from 'node:fs';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, freePort, KEY } from './distributed-helpers.ts';
import { waitFor, WebhookReceiver } from './webhook-receiver.ts';

/**
 * Distributed profile, 3 API nodes and a worker: every node schedules alerts-evaluate every
 * second and runs a dispatcher, and every node has seen the quota crossings (the same events
 * were sent to each, so each node's quota warnings fire; their ids are the same, so the stream
 * keeps one). Each alert still fires once and its webhook is sent under one webhook-id: the job
 * runs on one node at a time (Redis lease) and alerts are deduplicated in ClickHouse.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('alerts on the distributed profile (3 API nodes)', () => {
  const d = new Deployment(2, 120);
  const receiver = new WebhookReceiver();
  afterAll(async () => {
    await receiver.close();
    await d.destroy();
  }, 120_000);

  it('each alert fires once and is delivered once, not once per node', async () => {
    appendFileSync(
      d.configFile,
      '\n' +
        [
          'plans:',
          '  - { id: free, entitlements: [ { meter: calls, period: month, limit: 10 } ] }',
          'tenants:',
          '  - { id: acme, plan: free }',
          '  - { id: globex, plan: free }',
          'alerts:',
          "  schedule: '* * * * * *'",
          '  delivery: { pollMs: 200, baseDelayMs: 200, maxDelayMs: 1000 }',
        ].join('\n'),
    );
    const ports = [await freePort(), await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    await Promise.all(ports.map((p) => d.api(p)));
    d.worker(0, 1);
    const api = async (url: string, method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await r.text();
      if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const hook = await receiver.listen();
    const ep = await api(urls[0]!, 'POST', '/v1/alerts/endpoints', { url: hook });
    receiver.secret = ep.secret as string;
    await api(urls[1]!, 'POST', '/v1/alerts/rules', { id: 'quota', kind: 'quota', meter: 'calls', thresholds: ['80%', '100%'], channels: [ep.id] });

    // The same 10 events per tenant to every node: each node's counters cross 80 % and 100 %.
    const events = ['acme', 'globex'].flatMap((t) => Array.from({ length: 10 }, (_, i) => ({ specversion: '1.0', id: `${t}-${i}`, source: 'dist', type: 'call', subject: t, time: new Date().toISOString(), data: { shard: 'a', units: 1 } })));
    for (const url of urls) await api(url, 'POST', '/v1/events', events);

    await waitFor('4 delivered alerts', () => receiver.ofType('alert.firing').length >= 4, 90_000);
    // Several evaluations later (on any node), nothing more has fired or been sent.
    const runs = async () => (await api(urls[2]!, 'GET', '/v1/jobs?job=alerts-evaluate&status=succeeded&limit=1000')).runs as { node: string }[];
    const before = (await runs()).length;
    await waitFor('more evaluations, on at least 2 nodes', async () => {
      const r = await runs();
      return r.length >= before + 5 && new Set(r.map((x) => x.node)).size >= 2;
    }, 90_000);

    const fired = receiver.ofType('alert.firing').map((r) => (r.payload!.data.alert as { tenant: string; details: { threshold: string } })).map((a) => `${a.tenant} ${a.details.threshold}`);
    expect(fired.sort()).toEqual(['acme 100%', 'acme 80%', 'globex 100%', 'globex 80%']);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(receiver.received.filter((r) => r.payload?.type === 'alert.firing')).toHaveLength(4);
    for (const url of urls) {
      const alerts = (await api(url, 'GET', '/v1/alerts?rule=quota')).data as { notifications: number; state: string }[];
      expect(alerts).toHaveLength(4);
      expect(alerts.every((a) => a.notifications === 1 && a.state === 'firing')).toBe(true);
    }
    const nodes = new Set((await runs()).map((r) => r.node));
    console.log(`alerts distributed: 3 API nodes, alerts-evaluate ran on ${nodes.size} of them (${(await runs()).length} runs); 4 alerts, 4 webhook requests, each alert once`);
  }, 240_000);
});
