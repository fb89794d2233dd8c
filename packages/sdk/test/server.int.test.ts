import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppFactory } from './apps.ts';
import { expressApp, fastifyApp, honoApp, nodeApp } from './apps.ts';
import { CALLS, call } from './http.ts';
import { createClient } from '../src/client.ts';

/*
 * The middleware against a real Tally server (packages/server's startTestServer: HTTP, auth,
 * validation, dedupe, DuckDB), verified through a meter query. Imported by a computed specifier
 * so this package's type-check does not pull the server's sources into its project.
 */
interface TestServer {
  url: string;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: { token?: string; data?: { value: string; groupBy: Record<string, unknown> }[] } }>;
  close(): Promise<void>;
}
const testing = '../../server/src/testing.ts';
const { startTestServer } = (await import(testing)) as { startTestServer: (o: object) => Promise<TestServer> };

const FRAMEWORKS: [string, AppFactory][] = [
  ['express', expressApp],
  ['fastify', fastifyApp],
  ['hono', honoApp],
  ['node', nodeApp],
];

describe('middleware → real Tally server', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ meters: [{ slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route', status: '$.status' } }] });
    const key = await server.request('POST', '/v1/keys', { name: 'sdk-test', scopes: ['ingest'] });
    expect(key.status).toBe(201);
    token = key.body.token as string;
  });
  afterAll(() => server.close());

  it.each(FRAMEWORKS)('%s: every request is ingested once with its route template and status', async (name, factory) => {
    const tenant = `tenant-${name}`;
    const client = createClient({ endpoint: server.url, apiKey: token });
    const app = await factory(client);
    for (const c of CALLS) await call(app.url, { ...c, tenant: c.tenant === '' ? '' : tenant });
    await app.close();
    const result = await client.shutdown();
    const recorded = CALLS.filter((c) => c.tenant !== '');
    expect(result).toMatchObject({ delivered: recorded.length, lost: 0 });

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const q = await server.request('GET', `/v1/meters/api_requests/query?from=${from}&to=${to}&tenant=${tenant}&groupBy=route&groupBy=status`);
    expect(q.status).toBe(200);
    const got = Object.fromEntries((q.body.data ?? []).map((r) => [`${String(r.groupBy.route)} ${String(r.groupBy.status)}`, r.value]));
    const want: Record<string, string> = {};
    for (const c of recorded) {
      const k = `${c.expect.route} ${c.expect.status}`;
      want[k] = String(Number(want[k] ?? 0) + 1);
    }
    expect(got).toEqual(want);
  });
});
