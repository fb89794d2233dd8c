import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';

/** #13 §3: /metrics can require a key, and a portal key never reads server-wide figures. */
let open: TestServer;
let locked: TestServer;
let scraped: TestServer;
const SCRAPE = 'scrape-secret-0123456789';
beforeAll(async () => {
  scraped = await startTestServer({ config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', metricsToken: SCRAPE } } });
  open = await startTestServer({});
  locked = await startTestServer({ config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', metricsRequireKey: true } } });
});
afterAll(async () => {
  await open.close();
  await locked.close();
  await scraped.close();
});

const metrics = (s: TestServer, token?: string) => fetch(`${s.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('metrics and whoami', () => {
  it('GET /v1/whoami tells a key its scopes and tenant; an unknown key gets 401', async () => {
    expect((await open.request('GET', '/v1/whoami')).body).toMatchObject({ scopes: ['admin'], tenant: null });
    const portal = await open.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'acme' });
    expect((await open.request('GET', '/v1/whoami', undefined, { token: portal.body.token })).body).toMatchObject({ keyId: portal.body.id, scopes: ['read'], tenant: 'acme' });
    expect((await open.request('GET', '/v1/whoami', undefined, { token: 'tally_nope' })).status).toBe(401);
  });

  it('by default /metrics is open (Prometheus scrapes); with server.metricsRequireKey it needs a read key not bound to a tenant', async () => {
    expect((await metrics(open)).status).toBe(200);
    expect((await metrics(locked)).status).toBe(401);
    const portal = await locked.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'acme' });
    const reader = await locked.request('POST', '/v1/keys', { name: 'ops', scopes: ['read'] });
    const ingest = await locked.request('POST', '/v1/keys', { name: 'ingest', scopes: ['ingest'] });
    const forbidden = await metrics(locked, portal.body.token);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await metrics(locked, ingest.body.token)).status).toBe(403);
    const ok = await metrics(locked, reader.body.token);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('tally_ingest_events_total');
  });

  it('with server.metricsToken /metrics needs that bearer token (API keys do not open it); it carries no tenant ids unless configured', async () => {
    expect((await metrics(scraped)).status).toBe(401);
    expect((await metrics(scraped, 'scrape-secret-WRONG-6789')).status).toBe(401);
    expect((await metrics(scraped, scraped.adminToken)).status).toBe(401);
    const event = (tenant: string) => ({ specversion: '1.0', id: `e-${tenant}`, source: 's', type: 'call', subject: tenant, data: {} });
    expect((await scraped.request('POST', '/v1/events', [event('tenant-visible-acme')])).status).toBe(200);
    const ok = await metrics(scraped, SCRAPE);
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toMatch(/tally_ingest_events_total\{outcome="accepted",code=""\} 1/);
    expect(text).not.toContain('tenant-visible-acme');

    const labelled = await startTestServer({ config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', metricsTenantLabels: true } } });
    try {
      expect((await labelled.request('POST', '/v1/events', [event('tenant-visible-acme'), { ...event('tenant-visible-acme'), id: 'e2' }])).status).toBe(200);
      expect(await (await metrics(labelled)).text()).toContain('tally_tenant_events_accepted_total{tenant="tenant-visible-acme"} 2');
    } finally {
      await labelled.close();
    }
  });
});
