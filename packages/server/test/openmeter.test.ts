import { OpenMeter, type Event, type MeterQueryResult } from '@openmeter/sdk';
import { OpenMeter as OpenMeterPortal } from '@openmeter/sdk/portal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { at, failure, range, tokyo } from './openmeter-helpers.ts';

/**
 * Issue #13 §2 on the embedded profile: the unmodified `@openmeter/sdk` client, pointed at Tally
 * by its base URL alone, against a real server (DuckDB). The same scenario runs on the
 * distributed profile in openmeter-distributed.int.test.ts.
 */
let s: TestServer;
let om: OpenMeter;

beforeAll(async () => {
  s = await startTestServer();
  om = new OpenMeter({ baseUrl: s.url, apiKey: s.adminToken });
});
afterAll(async () => {
  await s.close();
});

const batch: Event[] = [
  { id: 'p1', source: 'app', type: 'prompt', subject: 'acme', time: at(10), data: { tokens: 10, model: 'gpt-4' } },
  { id: 'p2', source: 'app', type: 'prompt', subject: 'acme', time: at(16), data: { tokens: '5', model: 'gpt-3' } },
  { id: 'p3', source: 'app', type: 'prompt', subject: 'beta', time: at(10), data: { tokens: 7.25, model: 'gpt-4' } },
];
const rangeQs = `from=${at(-9).toISOString()}&to=${at(39).toISOString()}`;

describe('@openmeter/sdk against Tally (embedded)', () => {
  it('creates, lists and gets a meter; a second create of the slug is a 409 problem', async () => {
    const created = (await om.meters.create({ slug: 'tokens_total', name: 'Tokens', description: 'AI tokens', aggregation: 'SUM', eventType: 'prompt', valueProperty: '$.tokens', groupBy: { model: '$.model' }, metadata: { team: 'ai' } }))!;
    expect(created).toMatchObject({ slug: 'tokens_total', name: 'Tokens', description: 'AI tokens', aggregation: 'SUM', eventType: 'prompt', valueProperty: '$.tokens', groupBy: { model: '$.model' }, metadata: { team: 'ai' } });
    expect(created.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(created.createdAt).toBeInstanceOf(Date);
    expect((await om.meters.list())!.map((m) => m.slug)).toEqual(['tokens_total']);
    expect(await om.meters.get(created.id)).toEqual(created);
    expect(await om.meters.get('tokens_total')).toEqual(created);
    const dup = await failure(om.meters.create({ slug: 'tokens_total', aggregation: 'COUNT', eventType: 'prompt' }));
    expect(dup.status).toBe(409);
    expect(dup.getField('error')).toMatchObject({ code: 'CONFLICT' });
    const bad = await failure(om.meters.create({ slug: 'Bad-Slug', aggregation: 'COUNT', eventType: 'prompt' }));
    expect(bad.status).toBe(400);
    expect((await failure(om.meters.get('nope'))).status).toBe(404);
    const renamed = (await om.meters.update(created.id, { name: 'Tokens total', groupBy: { model: '$.model' } }))!;
    expect(renamed).toMatchObject({ id: created.id, name: 'Tokens total', description: 'AI tokens' });
    expect((await failure(om.meters.update('tokens_total', { groupBy: { model: '$.model', type: '$.type' } }))).status).toBe(409);
  });

  it('ingests a batch twice and counts it once; queries with subject, group-by and a time zone', async () => {
    expect(await om.events.ingest(batch)).toBeUndefined(); // 204
    expect(await om.events.ingest(batch)).toBeUndefined(); // re-sent: duplicates, counted once
    const byDay = await om.meters.query('tokens_total', { ...tokyo(), subject: ['acme'], groupBy: ['model'] });
    expect(byDay.windowSize).toBe('DAY');
    expect(byDay.from).toEqual(at(-9));
    expect(byDay.data).toEqual([
      { value: 10, windowStart: at(-9), windowEnd: at(15), subject: 'acme', groupBy: { model: 'gpt-4' } },
      { value: 5, windowStart: at(15), windowEnd: at(39), subject: 'acme', groupBy: { model: 'gpt-3' } },
    ]);
    const total = await om.meters.query('tokens_total', range());
    expect(total.data).toEqual([{ value: 22.25, windowStart: at(-9), windowEnd: at(39), subject: null, groupBy: {} }]);
    const bySubject = (await om.meters.queryPost('tokens_total', { ...range(), groupBy: ['subject'], filterGroupBy: { model: ['gpt-4'] } })) as MeterQueryResult;
    expect(bySubject.data.map((r) => [r.subject, r.value])).toEqual([
      ['acme', 10],
      ['beta', 7.25],
    ]);
    // The exact decimal string is the native API's answer.
    const native = await s.request('GET', `/v1/meters/tokens_total/query?${rangeQs}`);
    expect(native.body.data[0].value).toBe('22.25');
    const unsupported = await failure(om.meters.query('tokens_total', { filterCustomerId: ['c1'] }));
    expect(unsupported.getField('error')).toMatchObject({ code: 'UNSUPPORTED_PARAMETER' });
  });

  it('stores the valid events of a batch with rejected ones and answers a 400 problem naming them', async () => {
    const err = await failure(om.events.ingest([{ id: 'ok1', source: 'app', type: 'prompt', subject: 'gamma', time: at(12), data: { tokens: 1, model: 'x' } }, { id: 'bad1', source: 'app', type: 'prompt', subject: 'gamma', time: at(12), data: { tokens: 'many', model: 'x' } }]));
    expect(err.status).toBe(400);
    const error = err.getField('error') as { code: string; details: { receipts: { status: string }[] } };
    expect(error.code).toBe('INVALID_METER_VALUE');
    expect(error.details.receipts.map((r) => r.status)).toEqual(['accepted', 'rejected']);
    const r = await om.meters.query('tokens_total', { ...tokyo(), subject: ['gamma'] });
    expect(r.data.map((x) => x.value)).toEqual([1]);
  });

  it('takes events without time, data or datacontenttype (null or absent)', async () => {
    const res = await fetch(`${s.url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'nt1', source: 'raw', type: 'ping', subject: 'acme', time: null, data: null, datacontenttype: null }),
    });
    expect(res.status).toBe(204);
    const problem = await fetch(`${s.url}/api/v1/events`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '[]' });
    expect(problem.status).toBe(401);
    expect(problem.headers.get('content-type')).toBe('application/problem+json');
    expect(await problem.json()).toMatchObject({ type: 'about:blank', title: 'Unauthorized', status: 401, error: { code: 'UNAUTHENTICATED' } });
  });

  it('issues portal tokens bound to a subject and meters, refused once expired or invalidated', async () => {
    const t = (await om.portal.create({ subject: 'acme', allowedMeterSlugs: ['tokens_total'] }))!;
    expect(t).toMatchObject({ subject: 'acme', expired: false, allowedMeterSlugs: ['tokens_total'] });
    expect(t.expiresAt!.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);
    const portal = new OpenMeterPortal({ baseUrl: s.url, portalToken: t.token! });
    const mine = await portal.query('tokens_total', tokyo());
    expect(mine.data.map((r) => [r.subject, r.value])).toEqual([
      ['acme', 10],
      ['acme', 5],
    ]);
    await om.meters.create({ slug: 'prompts', aggregation: 'COUNT', eventType: 'prompt' });
    expect((await failure(portal.query('prompts', tokyo()))).status).toBe(403);
    // A token is not an admin key.
    expect((await failure(new OpenMeter({ baseUrl: s.url, apiKey: t.token! }).meters.create({ slug: 'x', aggregation: 'COUNT', eventType: 'x' }))).status).toBe(403);

    const short = (await om.portal.create({ subject: 'acme', expiresAt: new Date(Date.now() + 3000) }))!;
    const soon = new OpenMeterPortal({ baseUrl: s.url, portalToken: short.token! });
    expect((await soon.query('prompts', tokyo())).data.map((r) => r.value)).toEqual([1, 1]);
    await new Promise((r) => setTimeout(r, short.expiresAt!.getTime() + 50 - Date.now()));
    const expired = await failure(soon.query('prompts', tokyo()));
    expect(expired.status).toBe(401);
    expect(expired.getField('detail')).toMatch(/expired/);
    expect((await om.portal.list())!.find((x) => x.id === short.id)?.expired).toBe(true);

    await om.portal.invalidate({ subject: 'acme' });
    expect((await failure(portal.query('tokens_total', tokyo()))).status).toBe(401);
  });

  it('deletes a meter without its data; re-creating the slug never rewrites history', async () => {
    const before = (await om.meters.get('tokens_total'))!;
    await om.meters.delete('tokens_total');
    expect((await om.meters.list())!.map((m) => m.slug)).toEqual(['prompts']);
    const withDeleted = (await s.request('GET', '/api/v1/meters?includeDeleted=true')).body as { slug: string; deletedAt?: string }[];
    expect(withDeleted.find((m) => m.slug === 'tokens_total')?.deletedAt).toBeDefined();
    expect((await failure(om.meters.get('tokens_total'))).status).toBe(404);
    // Another definition: a new Tally meter, backfilled from the stored events; the old one is untouched.
    const counted = (await om.meters.create({ slug: 'tokens_total', aggregation: 'COUNT', eventType: 'prompt' }))!;
    expect(counted.id).not.toBe(before.id);
    expect(counted.annotations).toEqual({ 'tally.meter': 'tokens_total_v2' });
    expect((await om.meters.query('tokens_total', range())).data[0]!.value).toBe(4);
    const old = await s.request('GET', `/v1/meters/tokens_total/query?${rangeQs}`);
    expect(old.body.data[0].value).toBe('23.25');
    // Back to the first definition: its own Tally meter, history intact.
    await om.meters.delete(counted.id);
    const again = (await om.meters.create({ slug: 'tokens_total', aggregation: 'SUM', eventType: 'prompt', valueProperty: '$.tokens', groupBy: { model: '$.model' } }))!;
    expect(again.annotations).toEqual({ 'tally.meter': 'tokens_total' });
    expect((await om.meters.query('tokens_total', range())).data[0]!.value).toBe(23.25);
  });

  it('documents the routes in /openapi.json', async () => {
    const doc = (await s.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    for (const p of ['/api/v1/events', '/api/v1/meters', '/api/v1/meters/{meterIdOrSlug}', '/api/v1/meters/{meterIdOrSlug}/query', '/api/v1/portal/tokens', '/api/v1/portal/meters/{meterSlug}/query']) expect(doc.paths[p]).toBeDefined();
  });
});

describe('native API additions (issue #13 §2)', () => {
  it('takes CloudEvents without time: stored at the receive time, said in the receipt; a re-send is a plain duplicate', async () => {
    const ev = { specversion: '1.0', id: 'nt-native', source: 'raw', type: 'prompt', subject: 'delta', data: { tokens: 2, model: 'm' } };
    const before = Date.now();
    const first = await s.request('POST', '/v1/events', ev);
    expect(first.status).toBe(200);
    const receipt = first.body.receipts[0] as { status: string; time: string };
    expect(receipt.status).toBe('accepted');
    expect(Date.parse(receipt.time)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(receipt.time)).toBeLessThanOrEqual(Date.now());
    const again = await s.request('POST', '/v1/events', ev);
    expect(again.body.receipts).toEqual([{ id: 'nt-native', status: 'duplicate', conflict: false }]);
    const withTime = await s.request('POST', '/v1/events', { ...ev, time: receipt.time });
    expect(withTime.body.receipts[0]).toMatchObject({ status: 'duplicate', conflict: true });
    expect(withTime.body.receipts[0].time).toBeUndefined();
  });

  it('creates keys with an expiry and allowed meters through /v1/keys too', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await s.request('POST', '/v1/keys', { name: 'limited', scopes: ['read'], tenant: 'acme', expiresAt, allowedMeters: ['prompts'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenant: 'acme', expiresAt, allowedMeters: ['prompts'] });
    const token = created.body.token as string;
    expect((await s.request('GET', `/v1/meters/prompts/query?${rangeQs}`, undefined, { token })).status).toBe(200);
    expect((await s.request('GET', `/v1/meters/tokens_total/query?${rangeQs}`, undefined, { token })).body.error.code).toBe('FORBIDDEN');
    expect((await s.request('POST', '/v1/keys', { name: 'past', scopes: ['read'], expiresAt: '2020-01-01T00:00:00Z' })).status).toBe(400);
  });

  it('reads windowSize in any letter case', async () => {
    const r = await s.request('GET', `/v1/meters/prompts/query?${rangeQs}&windowSize=day&windowTimeZone=Asia/Tokyo&tenant=acme`);
    expect(r.status).toBe(200);
    expect(r.body.windowSize).toBe('DAY');
    expect(r.body.data.map((x: { value: string }) => x.value)).toEqual(['1', '1']);
    const post = await s.request('POST', '/v1/meters/prompts/query', { from: at(-9).toISOString(), to: at(39).toISOString(), windowSize: 'Hour', tenant: 'acme' });
    expect(post.body.windowSize).toBe('HOUR');
    expect((await s.request('GET', `/v1/meters/prompts/query?${rangeQs}&windowSize=week`)).status).toBe(400);
  });
});
