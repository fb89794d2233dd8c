import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { askHttp, DEMO_METERS, demoEvents, diffAnswers, everyAnswer } from './audit-helpers.ts';
import { fixedClock } from './helpers.ts';

/**
 * #16 corrections against an oracle: one store gets demo events and then voids and amends a
 * random tenth of them; another gets only what should count (the survivors and the
 * replacements). Every meter — COUNT, SUM, AVG from the rollups, MIN, MAX, LATEST and
 * UNIQUE_COUNT from raw over corrected ranges — answers identically per day × tenant and per
 * tenant × every dimension.
 */
const clock = fixedClock('2026-05-10T12:00:00Z');
const FROM = Date.parse('2026-05-01T00:00:00Z') * 1000;
const TO = Date.parse('2026-05-10T00:00:00Z') * 1000;
let corrected: TestServer;
let oracle: TestServer;

beforeAll(async () => {
  [corrected, oracle] = await Promise.all([startTestServer({ meters: DEMO_METERS, clock }), startTestServer({ meters: DEMO_METERS, clock })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([corrected.close(), oracle.close()]);
});

describe('corrections vs an oracle store', () => {
  it('every meter answers as if the voided events had never been sent and the replacements had', async () => {
    const events = demoEvents(2500, FROM / 1000, TO / 1000, 17);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < events.length; i += 1000) expect((await corrected.request('POST', '/v1/events', events.slice(i, i + 1000))).body.accepted).toBe(Math.min(1000, events.length - i));
    const survivors: Record<string, unknown>[] = [];
    let voids = 0;
    let amends = 0;
    for (const e of events) {
      const r = rnd();
      const path = `/v1/events/${String(e.subject)}/${String(e.id)}`;
      if (r < 0.06) {
        expect((await corrected.request('POST', `${path}/void`, { reason: 'oracle' })).status).toBe(201);
        voids++;
      } else if (r < 0.1) {
        const data = { ...(e.data as Record<string, unknown>) };
        for (const k of ['tokens', 'durationMs', 'responseBytes']) if (typeof data[k] === 'number') data[k] = (data[k] as number) + 1;
        const replacement = { ...e, id: `${String(e.id)}-fix`, data };
        expect((await corrected.request('POST', `${path}/amend`, { reason: 'oracle', event: replacement })).status).toBe(201);
        survivors.push(replacement);
        amends++;
      } else survivors.push(e);
    }
    expect(voids).toBeGreaterThan(50);
    expect(amends).toBeGreaterThan(30);
    for (let i = 0; i < survivors.length; i += 1000) await oracle.request('POST', '/v1/events', survivors.slice(i, i + 1000));
    const a = await everyAnswer(askHttp(corrected.url, corrected.adminToken), DEMO_METERS, FROM, TO);
    const b = await everyAnswer(askHttp(oracle.url, oracle.adminToken), DEMO_METERS, FROM, TO);
    expect([...b.values()].every((rows) => rows.length > 0)).toBe(true);
    expect(diffAnswers(a, b)).toEqual([]);
    // The raw table of the corrected store still holds every original.
    expect((await corrected.request('GET', `/v1/events?type=api.request&limit=1000&id=${String(events[0]!.id)}`)).body.data).toHaveLength(events[0]!.type === 'api.request' ? 1 : 0);
  }, 300_000);
});
