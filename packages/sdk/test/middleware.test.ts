import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppFactory } from './apps.ts';
import { CALLS, call } from './http.ts';
import { expressApp, fastifyApp, honoApp, nodeApp } from './apps.ts';
import { createClient } from '../src/client.ts';
import type { Sink } from './sink.ts';
import { startSink } from './sink.ts';


const FRAMEWORKS: [string, AppFactory][] = [
  ['Express 5', expressApp],
  ['Fastify 5', fastifyApp],
  ['Hono 4 (@hono/node-server)', honoApp],
  ['node:http', nodeApp],
];

describe.each(FRAMEWORKS)('%s middleware', (_name, factory) => {
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(() => sink.stop());

  it('records one api.request per request with route template, status, duration and bytes', async () => {
    const client = createClient({ endpoint: sink.url, apiKey: 'test-key' });
    const app = await factory(client);
    const seen = new Map<string, { status: number; bytes: number }>();
    for (const c of CALLS) seen.set(c.tag, await call(app.url, c));
    await app.close();
    await client.shutdown();

    const byTag = new Map([...sink.events.values()].map((e) => [e.data.tag as string, e]));
    expect([...byTag.keys()].sort()).toEqual(CALLS.filter((c) => c.tenant !== '').map((c) => c.tag).sort());
    expect(sink.events.size).toBe(CALLS.length - 1);
    for (const c of CALLS.filter((x) => x.tenant !== '')) {
      const e = byTag.get(c.tag);
      const got = seen.get(c.tag);
      expect(got?.status, c.tag).toBe(c.expect.status);
      expect(e, c.tag).toMatchObject({ type: 'api.request', subject: 'acme' });
      const sent = c.body === undefined ? 0 : Buffer.byteLength(Array.isArray(c.body) ? c.body.join('') : c.body);
      expect(e?.data, c.tag).toMatchObject({ route: c.expect.route, method: c.method, status: c.expect.status, statusClass: `${String(c.expect.status)[0]}xx`, requestBytes: sent, responseBytes: got?.bytes });
      expect(e?.data.durationMs, c.tag).toBeGreaterThanOrEqual(0);
      expect(e?.data.route, c.tag).not.toMatch(/\d/); // a template, never raw path values
    }
    expect(seen.get('post')?.bytes).toBeGreaterThan(0);
  });
});

describe.each(FRAMEWORKS)('%s middleware, fast path (no properties option)', (_name, factory) => {
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(() => sink.stop());

  it('records the same events through staged, batch-serialised measurements', async () => {
    const client = createClient({ endpoint: sink.url, apiKey: 'test-key' });
    const app = await factory(client, true);
    const seen = new Map<string, { status: number; bytes: number }>();
    for (const c of CALLS) seen.set(c.tag, await call(app.url, c));
    await app.close();
    const r = await client.shutdown();
    const recorded = CALLS.filter((c) => c.tenant !== '');
    expect(r).toMatchObject({ delivered: recorded.length, lost: 0, stats: { tracked: recorded.length, queued: 0 } });

    const byTag = new Map([...sink.events.values()].map((e) => [e.actor as string, e]));
    expect([...byTag.keys()].sort()).toEqual(recorded.map((c) => c.tag).sort());
    expect(sink.events.size).toBe(recorded.length);
    for (const c of recorded) {
      const e = byTag.get(c.tag);
      const got = seen.get(c.tag);
      expect(got?.status, c.tag).toBe(c.expect.status);
      expect(e, c.tag).toMatchObject({ specversion: '1.0', type: 'api.request', subject: 'acme', source: 'urn:tally:sdk:node', datacontenttype: 'application/json' });
      expect(e?.id, c.tag).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const sent = c.body === undefined ? 0 : Buffer.byteLength(Array.isArray(c.body) ? c.body.join('') : c.body);
      const statusClass = `${String(c.expect.status)[0]}xx`; // what the shipped api_requests meter groups by
      expect(e?.data, c.tag).toMatchObject({ route: c.expect.route, method: c.method, status: c.expect.status, statusClass, requestBytes: sent, responseBytes: got?.bytes });
      // Plain node:http also records `error` when the handler threw.
      expect(Object.keys(e?.data ?? {}).filter((k) => k !== 'error').sort(), c.tag).toEqual(['durationMs', 'method', 'requestBytes', 'responseBytes', 'route', 'status', 'statusClass']);
      expect(e?.data.durationMs, c.tag).toBeGreaterThanOrEqual(0);
      expect(Math.abs(Date.parse(e?.time as string) - Date.now()), c.tag).toBeLessThan(600_000);
    }
  });
});
