import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../src/cli/program.ts';
import { CliError } from '../src/cli/client.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/** #19: the `/v1/analytics` edge on a real server (the numbers themselves are the contract's job). */
const clock = fixedClock('2026-05-01T00:00:00Z');
let s: TestServer;
const at = (day: number, sec = 0) => new Date(Date.UTC(2026, 3, day, 9, 0, sec)).toISOString();
beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock, config: { plans: [{ id: 'pro' }, { id: 'free' }], tenants: [{ id: 'acme', plan: 'pro' }, { id: 'globex', plan: 'free' }] } });
  const events = [
    // u1 completes signup → project → invite; u2 stops after the project; u3 only signs up.
    ce('s1', 'acme', at(1), {}, { type: 'signup', actor: 'u1' }),
    ce('p1', 'acme', at(1, 30), {}, { type: 'project.created', actor: 'u1' }),
    ce('i1', 'acme', at(1, 50), {}, { type: 'member.invited', actor: 'u1' }),
    ce('s2', 'acme', at(2), {}, { type: 'signup', actor: 'u2' }),
    ce('p2', 'acme', at(2, 10), {}, { type: 'project.created', actor: 'u2' }),
    ce('s3', 'globex', at(3), {}, { type: 'signup', actor: 'u3' }),
    ce('f1', 'acme', at(9), { feature: 'export' }, { type: 'feature.used', actor: 'u1' }),
    ce('f2', 'globex', at(10), { feature: 'export' }, { type: 'feature.used', actor: 'u3' }),
    ce('f3', 'acme', at(10), { feature: 'sso' }, { type: 'feature.used', actor: 'u2' }),
    ...Array.from({ length: 40 }, (_, i) => ce(`r${i}`, i % 4 ? 'acme' : 'globex', at(12, i), { route: `/r${i % 5}`, method: 'GET', bytes: i, ms: i + 1 }, { actor: `u${i % 7}` })),
  ];
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(events.length);
});
afterAll(async () => {
  await s.close();
});

const range = { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };

describe('/v1/analytics', () => {
  it('answers a funnel in JSON and CSV, exact and labelled', async () => {
    const body = { steps: [{ eventType: 'signup' }, { eventType: 'project.created' }, { eventType: 'member.invited' }], windowSeconds: 3600, ...range };
    const r = await s.request('POST', '/v1/analytics/funnel', body);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      steps: [
        { eventType: 'signup', count: 3, conversion: 1, conversionFromPrevious: 1, medianSecondsFromPrevious: null },
        { eventType: 'project.created', count: 2, conversion: 2 / 3, conversionFromPrevious: 2 / 3, medianSecondsFromPrevious: 10 },
        { eventType: 'member.invited', count: 1, conversion: 1 / 3, conversionFromPrevious: 0.5, medianSecondsFromPrevious: 20 },
      ],
      approximate: false,
    });
    const csv = await s.request('POST', '/v1/analytics/funnel?format=csv', { ...body, plan: 'pro', by: 'tenant' });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.text.trim().split('\n')).toEqual(['step,eventType,count,conversion,conversionFromPrevious,medianSecondsFromPrevious,approximate', '1,signup,1,1,1,,false', '2,project.created,1,1,1,30,false', '3,member.invited,1,1,1,20,false']);
  });

  it('answers retention cohorts and adoption', async () => {
    const ret = await s.request('POST', '/v1/analytics/retention', { startEvent: 'signup', returnEvent: 'feature.used', period: 'WEEK', periods: 2, ...range, timeZone: 'Europe/Berlin' });
    expect(ret.status).toBe(200);
    expect(ret.body.cohorts).toEqual([{ cohort: '2026-03-30', size: 3, returning: [0, 3, 0], observed: 3 }]);
    const ad = await s.request('GET', '/v1/analytics/adoption?period=MONTH&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(ad.body.activeTenants).toBe(2);
    expect(ad.body.features.map((f: { feature: string; tenants: number; bucket: string | null }) => [f.feature, f.tenants, f.bucket])).toEqual([['export', 2, 'broad'], ['sso', 1, null]]);
    const seg = await s.request('GET', '/v1/analytics/adoption?period=MONTH&plan=free&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(seg.body.features.map((f: { feature: string }) => f.feature)).toEqual(['export']);
  });

  it('ranks top-N exactly, or approximately with the label and bound in JSON and CSV', async () => {
    const exact = await s.request('GET', '/v1/analytics/top?meter=requests&by=route&limit=2&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(exact.body).toMatchObject({ total: '40', groups: 5, rest: '24', approximate: false, items: [{ rank: 1, key: '/r0', value: '8', share: 0.2, cumulativeShare: 0.2 }, { rank: 2, key: '/r1', value: '8', share: 0.2, cumulativeShare: 0.4 }] });
    const approx = await s.request('GET', '/v1/analytics/top?meter=bytes&by=tenant&approximate=true&counters=1&limit=1&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(approx.body).toMatchObject({ approximate: true, total: '780', errorBound: { maxOverestimate: '780', counters: 1 } });
    const csv = await s.request('GET', '/v1/analytics/top?meter=bytes&approximate=true&format=csv&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(csv.text.split('\n')[0]).toBe('rank,key,value,minValue,share,cumulativeShare,approximate,errorBound');
    expect(csv.text.split('\n')[1]).toMatch(/,true,overestimate<=/);
  });

  it('gives percentiles exact or sketched (labelled), approximate uniques, and trends with change %', async () => {
    const q = 'meter=latency_avg&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z';
    expect((await s.request('GET', `/v1/analytics/percentiles?${q}`)).body).toMatchObject({ count: 40, percentiles: { p50: '20', p90: '36', p95: '38', p99: '39' }, approximate: false, errorBound: null });
    const sk = await s.request('GET', `/v1/analytics/percentiles?${q}&approximate=true`);
    expect(sk.body).toMatchObject({ approximate: true, errorBound: { relative: 0.01 } });
    expect(Math.abs(Number(sk.body.percentiles.p50) - 20)).toBeLessThanOrEqual(0.2);
    expect((await s.request('GET', `/v1/analytics/percentiles?${q}&approximate=true&format=csv`)).text).toMatch(/latency_avg,p50,[\d.]+,40,true,relative<=0.01/);
    const u = await s.request('GET', '/v1/analytics/uniques?meter=users&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(u.body).toMatchObject({ estimate: 7, approximate: true });
    const t = await s.request('GET', '/v1/analytics/trends?meter=requests&from=2026-04-12T00:00:00Z&to=2026-04-13T00:00:00Z');
    expect(t.body).toMatchObject({ current: { value: '40' }, previous: { value: '0' }, changePercent: null, approximate: false });
    const t2 = await s.request('GET', '/v1/analytics/trends?meter=requests&from=2026-04-13T00:00:00Z&to=2026-04-14T00:00:00Z');
    expect(t2.body).toMatchObject({ current: { value: '0' }, previous: { value: '40' }, changePercent: '-100.00' });
  });

  it('refuses bad questions with registry codes, and keeps portal keys to their tenant', async () => {
    const bad = async (method: string, path: string, body?: unknown) => (await s.request(method, path, body)).body.error.code;
    expect(await bad('POST', '/v1/analytics/funnel', { steps: [], windowSeconds: 60, ...range })).toBe('VALIDATION_FAILED');
    expect(await bad('POST', '/v1/analytics/funnel', { steps: [{ eventType: 'signup' }], windowSeconds: 60, breakdown: 'a.b', ...range })).toBe('VALIDATION_FAILED');
    expect(await bad('POST', '/v1/analytics/funnel', { steps: [{ eventType: 'signup' }], windowSeconds: 60, from: range.to, to: range.from })).toBe('VALIDATION_FAILED');
    expect(await bad('POST', '/v1/analytics/retention', { startEvent: 'signup', returnEvent: 'signup', ...range, timeZone: 'Mars/Base' })).toBe('INVALID_TIME_ZONE');
    expect(await bad('GET', '/v1/analytics/top?meter=latency_avg')).toBe('VALIDATION_FAILED');
    expect(await bad('GET', '/v1/analytics/top?meter=nope')).toBe('NOT_FOUND');
    expect(await bad('GET', '/v1/analytics/uniques?meter=requests')).toBe('VALIDATION_FAILED');
    expect(await bad('GET', '/v1/analytics/adoption?plan=gold')).toBe('VALIDATION_FAILED');
    const key = (await s.request('POST', '/v1/keys', { name: 'portal', scopes: ['read'], tenant: 'globex' })).body.token as string;
    const mine = await s.request('POST', '/v1/analytics/funnel', { steps: [{ eventType: 'signup' }], windowSeconds: 60, ...range }, { token: key });
    expect(mine.body.steps[0].count).toBe(1);
    expect((await s.request('POST', '/v1/analytics/funnel', { steps: [{ eventType: 'signup' }], windowSeconds: 60, tenant: 'acme', ...range }, { token: key })).status).toBe(403);
  });
});

/** Runs `tally …` in this process against the test server; returns what it printed. */
async function tally(...args: string[]): Promise<string> {
  let printed = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed += String(chunk);
    return true;
  });
  try {
    await buildCli().parseAsync(['node', 'tally', ...args, '--url', s.url, '--key', s.adminToken]);
  } finally {
    spy.mockRestore();
  }
  return printed;
}

describe('tally analytics', () => {
  const r = ['--from', range.from, '--to', range.to];
  it('prints funnels, retention and adoption as tables (labelled exact), JSON or CSV', async () => {
    const table = await tally('analytics', 'funnel', 'signup', 'project.created', 'member.invited', '--window', '3600', ...r);
    expect(table).toMatch(/project\.created\s+│?\s*2\s/);
    expect(table).toContain('66.7 %');
    expect(table).toContain('exact (approximate: false)');
    expect(JSON.parse(await tally('analytics', 'funnel', 'signup', 'project.created', '--json', ...r)).steps[1].count).toBe(2);
    expect((await tally('analytics', 'retention', '--start', 'signup', '--return', 'feature.used', '--periods', '2', '--csv', ...r)).split('\n')[0]).toBe('cohort,size,week_0,week_1,week_2,observedPeriods,approximate');
    expect(await tally('analytics', 'adoption', '--period', 'MONTH', ...r)).toMatch(/export.*100\.0 %.*broad/);
  });

  it('labels approximate answers with their bound, and refuses a bad question with the API\'s code', async () => {
    expect(await tally('analytics', 'percentiles', '--meter', 'latency_avg', '--approximate', ...r)).toContain('approximate: true, bound {"relative":0.01}');
    expect(await tally('analytics', 'top', '--meter', 'requests', '--by', 'route', '--limit', '3', ...r)).toContain('total 40; exact');
    await expect(tally('analytics', 'top', '--meter', 'latency_avg', ...r)).rejects.toThrow(CliError);
    await expect(tally('analytics', 'funnel', 'signup:plan', ...r)).rejects.toThrow(/type:property=value/);
  });
});
