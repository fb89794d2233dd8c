import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClientStats, DropInfo, TallyError } from './types.ts';
import type { ClientOptions } from './options.ts';
import { createClient, RECORD } from './client.ts';
import type { RecordFn } from './client.ts';
import type { Sink } from '../test/sink.ts';
import { startSink, until } from '../test/sink.ts';

let sink: Sink;
beforeEach(async () => {
  sink = await startSink();
});
afterEach(() => sink.stop());

const opts = (extra: Partial<ClientOptions> = {}): ClientOptions => ({ endpoint: sink.url, apiKey: 'test-key', retry: { initialDelayMs: 1, maxDelayMs: 5 }, ...extra });
const ev = (n: number) => ({ type: 'feature.used', tenant: 'acme', properties: { n } });
/** Every tracked or replayed event is in exactly one state. */
const balanced = (s: ClientStats) =>
  expect(s.queued + s.inFlight + s.acknowledged + s.duplicates + s.rejected + s.dropped).toBe(s.tracked + s.replayed + s.droppedBy.invalid + s.droppedBy.closed);

describe('createClient', () => {
  it('rejects invalid options listing every problem', () => {
    expect(() => createClient({ endpoint: 'nope', apiKey: '', flushAt: 0 })).toThrow(/endpoint[\s\S]*apiKey[\s\S]*flushAt/);
  });

  it('delivers CloudEvents with UUIDv7 ids, the key and the source, and counts them', async () => {
    const c = createClient(opts({ source: 'urn:test' }));
    const ids = [0, 1, 2].map((n) => c.track({ ...ev(n), actor: 'user-1' }));
    const r = await c.flush();
    expect(r).toEqual({ drained: true, delivered: 3, lost: 0, pending: 0 });
    for (const [n, id] of ids.entries()) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      expect(sink.events.get(id as string)).toMatchObject({ specversion: '1.0', source: 'urn:test', type: 'feature.used', subject: 'acme', actor: 'user-1', data: { n } });
    }
    expect(c.stats()).toMatchObject({ tracked: 3, acknowledged: 3, queued: 0, inFlight: 0, dropped: 0 });
    await c.shutdown();
  });

  it('sends on its own every flushIntervalMs and as soon as flushAt events are queued', async () => {
    const c = createClient(opts({ flushAt: 5, flushIntervalMs: 20 }));
    c.track(ev(0));
    await new Promise((r) => setTimeout(r, 0));
    expect(sink.events.size).toBe(0); // one event is below flushAt: it waits for the timer
    for (let n = 1; n < 5; n++) c.track(ev(n));
    await until(() => sink.events.size === 5);
    await c.shutdown();
  });

  it('gzips bodies above gzip.minBytes', async () => {
    const c = createClient(opts({ gzip: { minBytes: 0 } }));
    for (let n = 0; n < 50; n++) c.track(ev(n));
    await c.flush();
    expect(sink.gzipped).toBeGreaterThan(0);
    expect(sink.events.size).toBe(50);
    await c.shutdown();
  });

  it('never throws on bad input and reports it as an invalid drop', async () => {
    const drops: DropInfo[] = [];
    const c = createClient(opts({ onDrop: (d) => drops.push(d), maxEventBytes: 100 }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: unknown[] = [null, 42, { type: 'x' }, { type: 'x', tenant: 'a', properties: cyclic }, { type: 'x', tenant: 'a', properties: { big: 'y'.repeat(200) } }, { type: 'x', tenant: 'a', time: 'never' }];
    for (const b of bad) expect(c.track(b as never)).toBeUndefined();
    const r = await c.shutdown();
    expect(r.stats.droppedBy.invalid).toBe(bad.length);
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ reason: 'invalid', count: bad.length });
    expect(r.lost).toBe(bad.length);
  });

  it('drops the oldest when the count bound is hit, counting and naming each one', async () => {
    const drops: DropInfo[] = [];
    const c = createClient(opts({ mode: 'serverless', maxQueueEvents: 10, onDrop: (d) => drops.push(d) }));
    const ids = Array.from({ length: 25 }, (_, n) => c.track(ev(n)) as string);
    expect(c.stats()).toMatchObject({ queued: 10, dropped: 15, tracked: 25 });
    await c.flush();
    expect([...sink.events.keys()].sort()).toEqual(ids.slice(15).sort());
    expect(drops.flatMap((d) => d.ids)).toEqual(ids.slice(0, 15));
    balanced(c.stats());
    await c.shutdown();
  });

  it('drops the oldest when the byte bound is hit', async () => {
    const c = createClient(opts({ mode: 'serverless', maxQueueBytes: 2048, maxEventBytes: 1024 }));
    const ids = Array.from({ length: 20 }, (_, n) => c.track({ ...ev(n), properties: { pad: 'x'.repeat(300) } }) as string);
    const s = c.stats();
    expect(s.dropped).toBeGreaterThan(0);
    await c.flush();
    expect(sink.events.size).toBe(20 - s.dropped);
    expect([...sink.events.keys()].sort()).toEqual(ids.slice(s.dropped).sort());
    await c.shutdown();
  });

  it('retries 503 and 429, honouring Retry-After, with the same ids', async () => {
    const errors: TallyError[] = [];
    sink.fail({ status: 503, times: 2, retryAfter: '0' });
    const c = createClient(opts({ onError: (e) => errors.push(e) }));
    for (let n = 0; n < 10; n++) c.track(ev(n));
    expect((await c.flush()).delivered).toBe(10);
    sink.fail({ status: 429, times: 1 });
    c.track(ev(10));
    await c.flush();
    expect(sink.events.size).toBe(11);
    expect(sink.submissions).toBe(11); // failed attempts were refused before ingest
    expect(c.stats()).toMatchObject({ acknowledged: 11, retries: 3, dropped: 0 });
    expect(errors.map((e) => [e.status, e.code, e.retriable])).toEqual([[503, 'STORE_UNAVAILABLE', true], [503, 'STORE_UNAVAILABLE', true], [429, 'RATE_LIMITED', true]]);
    await c.shutdown();
  });

  it('does not retry a 401: it reports it and counts the events as dropped', async () => {
    const errors: TallyError[] = [];
    const c = createClient(opts({ apiKey: 'wrong', onError: (e) => errors.push(e) }));
    c.track(ev(1));
    c.track(ev(2));
    const r = await c.flush();
    expect(r).toMatchObject({ drained: true, delivered: 0, lost: 2 });
    expect(sink.requests).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ kind: 'http', status: 401, code: 'UNAUTHENTICATED', retriable: false })]);
    expect(c.stats().droppedBy.http_error).toBe(2);
    await c.shutdown();
  });

  it('surfaces per-event rejections, in mixed batches and all-rejected 400s', async () => {
    const errors: TallyError[] = [];
    sink.reject = (e) => (e.data.n === 1 ? 'n must not be 1' : undefined);
    const c = createClient(opts({ onError: (e) => errors.push(e) }));
    c.track(ev(0));
    const bad = c.track(ev(1));
    await c.flush();
    c.track(ev(1));
    await c.flush();
    expect(c.stats()).toMatchObject({ acknowledged: 1, rejected: 2 });
    expect(errors.map((e) => e.kind)).toEqual(['rejected', 'rejected']);
    expect(errors[0]?.receipts).toEqual([{ id: bad, status: 'rejected', code: 'VALIDATION_FAILED', message: 'n must not be 1' }]);
    await c.shutdown();
  });

  it('counts duplicates and flags a reused id with a different payload', async () => {
    const errors: TallyError[] = [];
    const c = createClient(opts({ onError: (e) => errors.push(e) }));
    const id = 'fixed-id';
    c.track({ ...ev(1), id, time: 0 });
    await c.flush();
    c.track({ ...ev(1), id, time: 0 });
    c.track({ ...ev(2), id, time: 0 });
    await c.flush();
    expect(c.stats()).toMatchObject({ acknowledged: 1, duplicates: 2, conflicts: 1 });
    expect(errors).toEqual([expect.objectContaining({ kind: 'conflict' })]);
    await c.shutdown();
  });

  it('gives up on events that keep failing past the retry budget', async () => {
    let now = Date.UTC(2030, 0, 1);
    sink.fail({ status: 503 });
    const c = createClient(opts({ now: () => now, retry: { initialDelayMs: 1, maxDelayMs: 2, budgetMs: 60_000 } }));
    c.track(ev(1));
    await c.flush({ timeout: 100 });
    expect(c.stats().retries).toBeGreaterThan(0);
    now += 60_001;
    const r = await c.flush({ timeout: 120_000 }); // must end by draining, not by this timeout (> test timeout)
    expect(r).toMatchObject({ drained: true, lost: 1 });
    expect(c.stats().droppedBy.retry_budget).toBe(1);
    await c.shutdown();
  });

  it('serverless mode sends only inside flush()', async () => {
    const c = createClient(opts({ mode: 'serverless', flushAt: 1, flushIntervalMs: 1 }));
    for (let n = 0; n < 5; n++) c.track(ev(n));
    await new Promise((r) => setTimeout(r, 30));
    expect(sink.requests).toBe(0);
    expect((await c.flush()).delivered).toBe(5);
    await c.shutdown();
  });

  it('shutdown drops what it cannot deliver in time and refuses later events', async () => {
    sink.fail({ status: 503 });
    const drops: DropInfo[] = [];
    const c = createClient(opts({ onDrop: (d) => drops.push(d) }));
    c.track(ev(1));
    c.track(ev(2));
    const r = await c.shutdown({ timeout: 50 });
    expect(r).toMatchObject({ delivered: 0, lost: 2, spooled: 0 });
    expect(c.track(ev(3))).toBeUndefined();
    expect(c.stats().droppedBy).toMatchObject({ shutdown: 2, closed: 1 });
    await until(() => drops.some((d) => d.reason === 'closed'));
    expect(drops.find((d) => d.reason === 'shutdown')?.count).toBe(2);
  });

  it('trackJob records job.completed for success and failure and passes results through', async () => {
    const c = createClient(opts());
    await expect(c.trackJob('resize', () => 42, { tenant: 'acme' })).resolves.toBe(42);
    await expect(c.trackJob('export', async () => { throw new TypeError('boom'); }, { tenant: 'acme', properties: { rows: 3 } })).rejects.toThrow('boom');
    await c.flush();
    const jobs = [...sink.events.values()].map((e) => e.data);
    expect(jobs).toEqual([
      expect.objectContaining({ job: 'resize', status: 'ok', durationMs: expect.any(Number) }),
      expect.objectContaining({ job: 'export', status: 'error', error: 'TypeError', rows: 3 }),
    ]);
    expect([...sink.events.values()].every((e) => e.type === 'job.completed')).toBe(true);
    await c.shutdown();
  });

  it('stages middleware measurements and counts them exactly: bounds, order, drops and shutdown', async () => {
    const drops: DropInfo[] = [];
    const c = createClient(opts({ mode: 'serverless', maxQueueEvents: 300, onDrop: (d) => drops.push(d) }));
    const record = (c as unknown as { [RECORD]: RecordFn })[RECORD].bind(c);
    // 700 requests: more than the stage (256) several times over, and more than the queue bound.
    for (let n = 0; n < 700; n++) record('api.request', 'acme', `user-${n}`, '/users/:id', 'GET', 200, n / 1000, 0, n, false, undefined);
    balanced(c.stats());
    // 2 × 256 were serialised into the queue (bound 300: 212 oldest dropped); 188 are still staged.
    expect(c.stats()).toMatchObject({ tracked: 700, queued: 300 + 188, dropped: 212 });
    c.track(ev(700)); // a track() after staged events keeps the queue in order
    const r = await c.flush();
    expect(r).toMatchObject({ drained: true, delivered: 300, pending: 0 });
    const got = [...sink.events.values()];
    expect(got.map((e) => (e.data.responseBytes ?? e.data.n) as number)).toEqual(Array.from({ length: 300 }, (_, k) => 401 + k)); // the newest survived, in order
    expect(got[0]).toMatchObject({ type: 'api.request', subject: 'acme', actor: 'user-401', data: { route: '/users/:id', method: 'GET', status: 200, durationMs: 0.401, requestBytes: 0, responseBytes: 401 } });
    await until(() => drops.reduce((a, d) => a + d.count, 0) === 401);
    expect(drops.every((d) => d.reason === 'buffer_full')).toBe(true);
    balanced(c.stats());
    await c.shutdown();
    record('api.request', 'acme', undefined, '/x', 'GET', 200, 1, 0, 0, false, undefined); // after shutdown: dropped as closed
    expect(c.stats().droppedBy).toMatchObject({ buffer_full: 401, closed: 1 });
    balanced(c.stats());
  });
});
