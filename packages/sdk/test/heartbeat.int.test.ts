import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/client.ts';
import { startStatsHeartbeat } from '../src/heartbeat.ts';

/*
 * #16 cross-source reconciliation: the SDK's `tally.client.stats` heartbeats against a real
 * server, whose `cross-source.sdk-vs-stored` rule finds what the client says was accepted equal
 * to what it stored (and a client that lost acknowledged events is caught).
 */
interface Rule {
  rule: string;
  status: string;
  checked: number;
  results: { scope: Record<string, string>; expected: string; actual: string; difference: string }[];
}
interface TestServer {
  url: string;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: { token?: string; rules?: Rule[] } }>;
  close(): Promise<void>;
}
const testing = '../../server/src/testing.ts';
const { startTestServer } = (await import(testing)) as { startTestServer: (o: object) => Promise<TestServer> };

describe('SDK heartbeats → reconciliation', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ meters: [{ slug: 'calls', eventType: 'api.request', aggregation: 'COUNT', groupBy: {} }] });
    token = (await server.request('POST', '/v1/keys', { name: 'sdk', scopes: ['ingest'] })).body.token as string;
  });
  afterAll(() => server.close());

  const sdkRule = async () => {
    const r = await server.request('POST', '/v1/reconcile', { day: new Date().toISOString().slice(0, 10), rules: ['cross-source.sdk-vs-stored'] });
    expect(r.status).toBe(200);
    return r.body.rules!.find((x) => x.rule === 'cross-source.sdk-vs-stored')!;
  };

  it('what the heartbeats say was accepted equals what the server stored from the source', async () => {
    const client = createClient({ endpoint: server.url, apiKey: token, source: 'billing-api-1' });
    const hb = startStatsHeartbeat(client, { tenant: 'ops', source: 'billing-api-1', intervalMs: 3_600_000 });
    for (let i = 0; i < 120; i++) client.track({ type: 'api.request', tenant: `t${i % 3}`, properties: { route: '/x' } });
    // Re-sent ids are duplicates, not accepted: they must not count on either side.
    for (let i = 0; i < 5; i++) client.track({ type: 'api.request', tenant: 't0', id: `fixed-${i}`, properties: {} });
    await client.flush();
    hb.beat();
    for (let i = 0; i < 5; i++) client.track({ type: 'api.request', tenant: 't0', id: `fixed-${i}`, properties: {} });
    for (let i = 0; i < 30; i++) client.track({ type: 'api.request', tenant: 't1', properties: {} });
    await client.flush();
    hb.beat();
    await client.flush();
    hb.stop();
    await client.shutdown();
    const rule = await sdkRule();
    expect(rule).toMatchObject({ status: 'ok', checked: 1 });

    // A client that reports events the server never stored (as a lossy proxy in between would).
    const liar = createClient({ endpoint: server.url, apiKey: token, source: 'billing-api-2' });
    liar.track({ type: 'tally.client.stats', tenant: 'ops', id: 'lie-0', properties: { instance: 'x', seq: 0, from: new Date(Date.now() - 60_000).toISOString(), to: new Date().toISOString(), sent: 9, accepted: 9 } });
    liar.track({ type: 'tally.client.stats', tenant: 'ops', id: 'lie-1', properties: { instance: 'x', seq: 1, from: new Date().toISOString(), to: new Date().toISOString(), sent: 1, accepted: 1 } });
    await liar.shutdown();
    const caught = await sdkRule();
    expect(caught.results.map((r) => [r.scope.source, r.expected, r.actual, r.difference])).toEqual([['billing-api-2', '1', '10', '9']]);
  });
});
