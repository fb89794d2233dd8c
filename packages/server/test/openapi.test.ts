import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { QUOTA_CONFIG, QUOTA_METERS } from './quota-setup.ts';

/**
 * The OpenAPI document is the contract: it validates against the OpenAPI 3.1 schema, every route
 * the server registers is in it, and every operation in it is a route the server serves.
 */
let s: TestServer;
beforeAll(async () => {
  const plans = [...QUOTA_CONFIG.plans, { id: 'priced', currency: 'USD', prices: [{ name: 'Base', model: 'flat', amount: '1' }] }];
  s = await startTestServer({ meters: QUOTA_METERS, config: { ...QUOTA_CONFIG, plans } });
});
afterAll(async () => {
  await s.close();
});

/** Served but not part of the API contract, each with its reason. */
const NOT_DOCUMENTED: Record<string, string> = {
  'GET /openapi.json': 'the document itself',
  'GET /': 'the dashboard (static files)',
  'GET /*': 'the dashboard (static files)',
};

describe('OpenAPI document', () => {
  it('validates against the OpenAPI 3.1 schema', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as Parameters<Validator['validate']>[0];
    const result = await new Validator().validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors ?? []).slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every registered route and registers every documented one', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)));
    const registered = new Set((s.app as unknown as { registeredRoutes: { method: string; url: string }[] }).registeredRoutes.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS').map((r) => `${r.method} ${r.url}`));
    const undocumented = [...registered].filter((r) => !documented.has(r) && !(r in NOT_DOCUMENTED));
    const unserved = [...documented].filter((r) => !registered.has(r));
    expect(undocumented).toEqual([]);
    expect(unserved).toEqual([]);
    // The billing, jobs and OpenMeter surfaces are there.
    for (const r of ['GET /v1/invoices', 'POST /v1/invoices/:id/finalize', 'GET /v1/jobs', 'POST /v1/tenants/:tenant/credits', 'POST /api/v1/events']) expect(documented).toContain(r);
  });
});
