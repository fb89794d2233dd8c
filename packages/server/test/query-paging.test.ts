import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROWS } from '../src/http/routes/query.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock, TEST_METERS } from './helpers.ts';

/** #13 §3: query answers are bounded; pages follow each other exactly. */
const clock = fixedClock('2026-04-01T12:00:00Z');
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ meters: TEST_METERS, clock });
  const events = Array.from({ length: 600 }, (_, i) => ce(`pg${i}`, `t${i % 3}`, new Date(Date.UTC(2026, 3, 1, 10, i % 60)).toISOString(), { route: `/r${i % 5}`, method: 'GET', bytes: 1, ms: 1 }));
  expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(600);
});
afterAll(async () => {
  await s.close();
});

const Q = 'from=2026-04-01T10:00:00Z&to=2026-04-01T11:00:00Z&windowSize=MINUTE&groupBy=route&groupBy=tenant';

describe('query paging', () => {
  it(`answers at most ${DEFAULT_ROWS.toLocaleString('en')} rows by default and says when more follow; pages concatenate to the whole answer`, async () => {
    const whole = (await s.request('GET', `/v1/meters/requests/query?${Q}&limit=100000`)).body;
    expect(whole).toMatchObject({ totalRows: whole.data.length, truncated: false, nextOffset: null });
    expect(whole.data.length).toBeGreaterThan(50);
    const pages: unknown[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const r: { data: unknown[]; totalRows: number; truncated: boolean; nextOffset: number | null } = (await s.request("GET", `/v1/meters/requests/query?${Q}&limit=7&offset=${offset}`)).body;
      expect(r.data.length).toBeLessThanOrEqual(7);
      expect(r.totalRows).toBe(whole.totalRows);
      pages.push(...r.data);
      offset = r.nextOffset;
      if (offset !== null) expect(r.truncated).toBe(true);
    }
    expect(pages).toEqual(whole.data);
    const csv = await s.request('GET', `/v1/meters/requests/query?${Q}&limit=10&format=csv`);
    expect(csv.text.trim().split('\n')).toHaveLength(11);
    expect(csv.headers.get('x-tally-next-offset')).toBe('10');
    expect(csv.headers.get('x-tally-total-rows')).toBe(String(whole.totalRows));
    expect((await s.request('GET', `/v1/meters/requests/query?${Q}&limit=0`)).status).toBe(400);
    expect((await s.request('GET', `/v1/meters/requests/query?${Q}&limit=100001`)).status).toBe(400);
  });
});
