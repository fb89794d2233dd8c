import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, meterFilterSchema } from '../src/meters/filter.ts';
import { compileMeter, meterSchema } from '../src/meters/meter.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

describe('meter filters (unit)', () => {
  it('equality, membership and exact decimal order on data properties, all conditions ANDed', () => {
    const f = compileFilter(meterFilterSchema.parse({ '$.statusClass': '5xx', '$.status': { gte: 500, lt: '503' }, '$.region': { notIn: ['eu'] } }));
    expect(f({ statusClass: '5xx', status: 500 })).toBe(true);
    expect(f({ statusClass: '5xx', status: '502.999999999999' })).toBe(true);
    expect(f({ statusClass: '5xx', status: 503 })).toBe(false);
    expect(f({ statusClass: '5xx', status: 500, region: 'eu' })).toBe(false);
    expect(f({ statusClass: '4xx', status: 500 })).toBe(false);
    expect(f({ statusClass: '5xx', status: 'five hundred' })).toBe(false);
    expect(f({ statusClass: '5xx' })).toBe(false);
    const exists = compileFilter(meterFilterSchema.parse({ '$.user.plan': { exists: true }, '$.flag': true }));
    expect(exists({ user: { plan: 'pro' }, flag: true })).toBe(true);
    expect(exists({ user: {}, flag: true })).toBe(false);
    expect(exists({ user: { plan: 'pro' }, flag: 'true' })).toBe(false);
    // Numbers compare as exact decimals: 500 equals 500.0, never a string "500".
    const n = compileFilter(meterFilterSchema.parse({ '$.status': 500 }));
    expect([n({ status: 500.0 }), n({ status: '500' }), n({ status: 500.000000000001 })]).toEqual([true, false, false]);
  });

  it('agrees with a plain comparison over random integers (gte/lt/in/ne)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 4 }), (v, lo, hi, set) => {
        const f = compileFilter(meterFilterSchema.parse({ '$.v': { gte: lo, lt: hi }, '$.w': { in: set }, '$.x': { ne: 0 } }));
        const w = set[0]!;
        expect(f({ v, w, x: v })).toBe(v >= lo && v < hi && v !== 0);
        expect(f({ v, w: 99, x: 1 })).toBe(false);
      }),
    );
  });

  it('refuses bad filters with the path that is wrong', () => {
    const bad = meterSchema.safeParse({ slug: 'x', eventType: 'e', aggregation: 'COUNT', filter: { nope: 'x', '$.a': { gt: 'ten' }, '$.b': {} } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['filter.nope', 'filter.$.a.gt', 'filter.$.b']));
    expect(meterSchema.safeParse({ slug: 'x', eventType: 'e', aggregation: 'COUNT', filter: {} }).success).toBe(false);
  });

  it('a filter is part of the series and identity; display fields are not; unfiltered keys are unchanged', () => {
    const plain = { slug: 'a', eventType: 'api.request', aggregation: 'COUNT' as const, groupBy: { route: '$.route' } };
    const filtered = { ...plain, slug: 'b', filter: { '$.statusClass': '5xx' } };
    const reordered = { ...plain, slug: 'c', filter: { '$.statusClass': { in: ['5xx'], exists: true } } };
    const reordered2 = { ...plain, slug: 'd', filter: { '$.statusClass': { exists: true, in: ['5xx'] } } };
    expect(compileMeter(plain).series).not.toBe(compileMeter(filtered).series);
    expect(compileMeter(reordered).series).toBe(compileMeter(reordered2).series);
    // The series of an unfiltered meter is what it was before filters existed (stored rollups stay valid).
    expect(compileMeter(plain).series).toBe(compileMeter({ ...plain, unit: 'requests', precision: 0 }).series);
  });
});

describe('meter filters through the API', () => {
  const clock = fixedClock('2026-04-01T12:00:00Z');
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ meters: TEST_METERS, clock });
  });
  afterAll(async () => {
    await s.close();
  });
  const range = 'tenant=flt&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z';

  it('errors_5xx counts exactly the 5xx requests, backfilled and live, beside an unfiltered meter of the same shape', async () => {
    const statuses = Array.from({ length: 200 }, (_, i) => [200, 201, 404, 500, 502, 503][(i * 7) % 6]!);
    const events = statuses.map((st, i) => ce(`flt-${i}`, 'flt', '2026-04-01T10:00:00Z', { route: i % 2 ? '/a' : '/b', method: 'GET', bytes: 1, ms: 1, status: st, statusClass: `${Math.floor(st / 100)}xx` }));
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(200);
    const def = { slug: 'errors_5xx', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' }, filter: { '$.statusClass': '5xx' }, unit: 'requests' };
    const created = await s.request('POST', '/v1/meters', def);
    expect(created.status).toBe(201);
    expect(created.body.backfilled).toBeGreaterThan(0);
    const expected = (sts: number[], route?: string) => sts.filter((st, i) => st >= 500 && (route === undefined || (i % 2 ? '/a' : '/b') === route)).length;
    const rows = (await s.request('GET', `/v1/meters/errors_5xx/query?${range}&groupBy=route`)).body.data as { value: string; groupBy: { route: string } }[];
    expect(Object.fromEntries(rows.map((r) => [r.groupBy.route, r.value]))).toEqual({ '/a': String(expected(statuses, '/a')), '/b': String(expected(statuses, '/b')) });
    // Live events: a 503 counts, a 200 does not; the unfiltered COUNT counts both.
    await s.request('POST', '/v1/events', [ce('flt-live-1', 'flt', '2026-04-01T11:00:00Z', { route: '/a', method: 'GET', bytes: 1, ms: 1, status: 503, statusClass: '5xx' }), ce('flt-live-2', 'flt', '2026-04-01T11:00:00Z', { route: '/a', method: 'GET', bytes: 1, ms: 1, status: 200, statusClass: '2xx' })]);
    const total = (await s.request('GET', `/v1/meters/errors_5xx/query?${range}`)).body.data[0].value;
    expect(total).toBe(String(expected(statuses) + 1));
    const all = (await s.request('GET', `/v1/meters/requests/query?${range}`)).body.data[0].value;
    expect(all).toBe('202');
    // The definition is listed with its filter and unit; changing the filter is a conflict.
    const listed = ((await s.request('GET', '/v1/meters')).body.data as { slug: string }[]).find((m) => m.slug === 'errors_5xx');
    expect(listed).toMatchObject({ filter: { '$.statusClass': '5xx' }, unit: 'requests' });
    expect((await s.request('POST', '/v1/meters', { ...def, filter: { '$.statusClass': '4xx' } })).status).toBe(409);
    // A display-only change is not a new definition.
    const relabelled = await s.request('POST', '/v1/meters', { ...def, unit: 'calls', description: 'server errors' });
    expect(relabelled.status).toBe(200);
    expect(((await s.request('GET', '/v1/meters')).body.data as { slug: string; unit?: string }[]).find((m) => m.slug === 'errors_5xx')?.unit).toBe('calls');
  });
});
