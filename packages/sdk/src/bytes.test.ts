import { describe, expect, it } from 'vitest';
import { EventWriter, ID_OFFSET } from './bytes.ts';
import { SlabWriter, quotedIsoOf, requestDataJson } from './encode.ts';
import { CloudEventEncoder } from './event.ts';

/** Writes with `write` at the writer's position and returns the event's text and its id. */
function written(w: SlabWriter, write: () => number): { json: string; id: string } {
  const len = write();
  const off = w.commit(len);
  return { json: w.buf.toString('utf8', off, off + len), id: w.buf.toString('latin1', off + ID_OFFSET, off + ID_OFFSET + 36) };
}

describe('EventWriter', () => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0, 123);
  const source = 'urn:tally:sdk:node';

  it('writes request events byte for byte as the string encoder does', () => {
    const ew = new EventWriter(source);
    const enc = new CloudEventEncoder(source);
    const w = new SlabWriter();
    const rows: [string, string, string | undefined, string, string, number, number, number, number, boolean, string | undefined][] = [
      ['api.request', 'acme', undefined, '/users/:id', 'GET', 200, 12.3456, 0, 512, false, undefined],
      ['api.request', 'acme', 'user-1', '/users/:id', 'GET', 404, 0, 17, 0, false, undefined],
      ['api.request', 'Zürich "GmbH" ✓', 'ü\n\u0001', '/ä/:id', 'POST', 500, 1234567.8905, 1.5, -3, true, 'TypeError'],
      ['custom.type', 'b', undefined, '(unmatched)', 'DELETE', 999, Number.NaN, Number.NaN, Number.POSITIVE_INFINITY, true, 'é"'],
      ['api.request', 't', undefined, '/x', 'GET', 204.5, 2e12, 2 ** 60, 0, false, undefined],
      ['api.request', 't', undefined, '/x', 'GET', -1, -5, 0, 9_007_199_254_740_991, false, undefined],
    ];
    for (const [type, tenant, actor, route, method, status, duration, reqBytes, resBytes, aborted, error] of rows) {
      for (let rep = 0; rep < 2; rep++) {
        // twice: the second time from the caches
        const { json, id } = written(w, () => ew.request(w, now, type, tenant, actor, route, method, status, duration, reqBytes, resBytes, aborted, error));
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const data = requestDataJson(route, method, status, duration, reqBytes, resBytes, aborted, error);
        expect(json).toBe(enc.encode(id, true, type, tenant, actor, undefined, quotedIsoOf(now), data));
        expect(JSON.parse(json)).toMatchObject({ id, type, subject: tenant, time: new Date(now).toISOString() });
      }
    }
  });

  it('writes tracked events byte for byte as the string encoder does', () => {
    const ew = new EventWriter(source);
    const enc = new CloudEventEncoder(source);
    const w = new SlabWriter();
    const props = JSON.stringify({ feature: 'export', rows: 120, note: 'naïve ✓' });
    const rows: [string | undefined, string | undefined, string, string, string | undefined, string | undefined][] = [
      [undefined, undefined, 'feature.used', 'acme', 'u1', undefined],
      ['my-id "1"', undefined, 'feature.used', 'acme', undefined, '"2026-01-01T00:00:00Z"'],
      [undefined, 'urn:other', 'job.completed', 'Zürich', 'ü', undefined],
      ['é', 'urn:other', 'job.completed', 'acme', undefined, '"2026-12-03T00:00:00.000Z"'],
    ];
    for (const [givenId, src, type, tenant, actor, time] of rows) {
      for (let rep = 0; rep < 2; rep++) {
        const len = ew.event(w, 1 << 20, now, givenId, src, type, tenant, actor, time, props);
        const off = w.commit(len);
        const json = w.buf.toString('utf8', off, off + len);
        const id = givenId ?? w.buf.toString('latin1', off + ID_OFFSET, off + ID_OFFSET + 36);
        expect(json).toBe(enc.encode(id, givenId === undefined, type, tenant, actor, src, time ?? quotedIsoOf(now), props));
        expect(Buffer.byteLength(json)).toBe(len);
      }
    }
  });

  it('refuses without writing an event that cannot fit in maxBytes', () => {
    const ew = new EventWriter(source);
    const w = new SlabWriter();
    expect(ew.event(w, 100, now, undefined, undefined, 't', 'x', undefined, undefined, JSON.stringify({ pad: 'y'.repeat(200) }))).toBe(-1);
    expect(w.pos).toBe(0);
  });
});
