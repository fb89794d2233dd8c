import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { ce, fixedClock } from './helpers.ts';

const METERS = [
  { slug: 'requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: {} },
];
const PRIVACY = { allowedProperties: { 'api.request': ['route', 'bytes', 'status'] } };

/** Every byte under a directory, as latin1 text (to grep the store's files for a value). */
function allBytes(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? allBytes(p) : readFileSync(p).toString('latin1');
  }
  return out;
}

describe('privacy: data minimisation by allow-list', () => {
  const clock = fixedClock('2026-04-01T12:00:00Z');
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-privacy-'));
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ meters: METERS as never, clock, dataDir, config: { privacy: PRIVACY } });
  });
  afterAll(async () => {
    await s.close();
  });

  it('drops unlisted data properties before storage, names them in the receipt, and meters still count exactly', async () => {
    const secret = 'jane.doe-7f3a9@example.org';
    const r = await s.request('POST', '/v1/events', [
      ce('p1', 'acme', '2026-04-01T10:00:00Z', { route: '/a', bytes: 10, email: secret, ip: '203.0.113.9' }),
      ce('p2', 'acme', '2026-04-01T10:00:00Z', { route: '/a', bytes: 5 }),
      { ...ce('p3', 'acme', '2026-04-01T10:00:00Z', { note: secret }), type: 'other.event' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.receipts).toEqual([
      { id: 'p1', status: 'accepted', dropped: ['email', 'ip'] },
      { id: 'p2', status: 'accepted' },
      { id: 'p3', status: 'accepted' },
    ]);
    // A re-send is a duplicate of what was stored (the dropped fields are not part of it).
    const again = await s.request('POST', '/v1/events', [ce('p1', 'acme', '2026-04-01T10:00:00Z', { route: '/a', bytes: 10, email: 'someone-else@example.org' })]);
    expect(again.body.receipts).toEqual([{ id: 'p1', status: 'duplicate', conflict: false, dropped: ['email'] }]);
    const events = (await s.request('GET', '/v1/events?tenant=acme&type=api.request')).body.data as { id: string; data: Record<string, unknown> }[];
    expect(events.find((e) => e.id === 'p1')!.data).toEqual({ route: '/a', bytes: 10 });
    const sum = await s.request('GET', '/v1/meters/bytes/query?tenant=acme&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z');
    expect(sum.body.data[0].value).toBe('15');
    // Types without a list keep their data: the unlisted type's note is stored as sent.
    const other = (await s.request('GET', '/v1/events?tenant=acme&type=other.event')).body.data as { data: Record<string, unknown> }[];
    expect(other[0]!.data).toEqual({ note: secret });
  });

  it('refuses a meter that reads a dropped property, at config load and through the API', async () => {
    const created = await s.request('POST', '/v1/meters', { slug: 'by_ip', eventType: 'api.request', aggregation: 'COUNT', groupBy: { ip: '$.ip' } });
    expect(created.status).toBe(400);
    expect(created.body.error.code).toBe('VALIDATION_FAILED');
    expect(created.body.error.message).toContain('drops "ip" before storage');
    const filtered = await s.request('POST', '/v1/meters', { slug: 'by_email', eventType: 'api.request', aggregation: 'COUNT', filter: { '$.email': { exists: true } } });
    expect(filtered.status).toBe(400);
    const cfg = configSchema.safeParse({ privacy: PRIVACY, meters: [{ slug: 'ips', eventType: 'api.request', aggregation: 'UNIQUE_COUNT', valueProperty: '$.ip' }] });
    expect(cfg.success).toBe(false);
    expect(cfg.error!.issues[0]!.message).toContain('meter "ips" reads $.ip');
  });

  it('the dropped value is in no file of the data directory', async () => {
    await s.request('POST', '/v1/events', [ce('p9', 'acme', '2026-04-01T11:00:00Z', { route: '/z', bytes: 1, email: 'only-here-91c2@example.net' })]);
    // The control: the same kind of value on a type without a list is kept, and the grep finds it.
    await s.request('POST', '/v1/events', [{ ...ce('p10', 'acme', '2026-04-01T11:00:00Z', { email: 'kept-here-5d7e@example.net' }), type: 'other.event' }]);
    await s.close();
    const bytes = allBytes(dataDir);
    expect(bytes).toContain('kept-here-5d7e');
    expect(bytes).not.toContain('only-here-91c2');
    s = await startTestServer({ meters: METERS as never, clock, dataDir, config: { privacy: PRIVACY } });
  });
});
