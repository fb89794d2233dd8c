import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from './apps.ts';
import type { TallyClient } from '../src/client.ts';
import { expressApp } from './apps.ts';
import { call } from './http.ts';
import { createClient } from '../src/client.ts';
import type { Sink } from './sink.ts';
import { startSink, until } from './sink.ts';

let sink: Sink;
let client: TallyClient;
let app: App;
let next = 0;
const dropped: string[] = [];

/** `n` concurrent-ish requests to the host; every one must be answered normally. */
async function traffic(n: number): Promise<void> {
  const calls = Array.from({ length: n }, () => {
    const tag = String(next++);
    return call(app.url, { tag, method: 'GET', path: `/users/${tag}`, expect: { route: '/users/:id', status: 200 } });
  });
  const answers = await Promise.all(calls);
  expect(answers.every((a) => a.status === 200 && a.bytes > 0)).toBe(true);
}

const receivedTags = () => [...sink.events.values()].map((e) => Number(e.data.tag));

async function setup(maxQueueEvents: number): Promise<void> {
  sink = await startSink();
  next = 0;
  dropped.length = 0;
  client = createClient({
    endpoint: sink.url,
    apiKey: 'test-key',
    flushIntervalMs: 10,
    maxQueueEvents,
    retry: { initialDelayMs: 5, maxDelayMs: 50 },
    onDrop: (d) => dropped.push(...d.ids),
  });
  app = await expressApp(client);
}

afterEach(async () => {
  await app.close();
  await client.shutdown({ timeout: 1000 });
  await sink.stop();
});

describe('ingest outage during traffic', () => {
  beforeEach(() => setup(50_000));

  it('never fails or holds host responses, then delivers everything buffered exactly once', async () => {
    await traffic(50);
    await sink.stop();
    await traffic(100);
    await until(() => client.stats().retries > 0); // the client really tried while the sink was down
    await traffic(100);
    await sink.start();
    await traffic(50);
    const r = await client.flush();

    expect(r.drained).toBe(true);
    const tags = receivedTags().sort((a, b) => a - b);
    expect(tags).toEqual(Array.from({ length: 300 }, (_, i) => i)); // each exactly once, none missing
    expect(sink.submissions).toBe(300); // refused connections delivered nothing, so nothing was re-sent twice
    expect(client.stats()).toMatchObject({ tracked: 300, acknowledged: 300, duplicates: 0, dropped: 0, queued: 0, inFlight: 0 });
  });
});

describe('ingest outage past the buffer bound', () => {
  beforeEach(() => setup(40));

  it('drops the oldest and the dropped count is exactly what the server never got', async () => {
    await traffic(20);
    await client.flush();
    await sink.stop();
    for (let k = 0; k < 10; k++) await traffic(20);
    await until(() => client.stats().retries > 0);
    await sink.start();
    await client.flush();

    const s = client.stats();
    const got = new Set(receivedTags());
    const never = Array.from({ length: next }, (_, i) => i).filter((t) => !got.has(t));
    expect(next).toBe(220);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.dropped).toBe(never.length);
    expect(s.droppedBy.buffer_full).toBe(s.dropped);
    expect(s.acknowledged).toBe(got.size);
    await until(() => dropped.length === s.dropped); // onDrop reports arrive on a later tick
    expect(dropped.filter((id) => sink.events.has(id))).toEqual([]);
    // Drop-oldest: the newest 40 (the bound) all survived.
    expect(Array.from({ length: 40 }, (_, i) => 180 + i).filter((t) => !got.has(t))).toEqual([]);
  });
});
