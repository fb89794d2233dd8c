import { setTimeout as sleep } from 'node:timers/promises';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, PrivateClickHouse, eventually, freePort, freePortBlock, lagOf, query, sendWithRetry } from './distributed-helpers.ts';

/**
 * Backpressure: ClickHouse is stopped while clients keep sending. Ingest keeps answering
 * (events wait in JetStream), the consumer lag on /metrics rises, and once ClickHouse is back
 * the workers resume from their watermarks and the lag drains to 0 with nothing lost.
 * It runs its own ClickHouse server (own port and data directory) so that stopping it never
 * disturbs the shared one; Redis and NATS are never touched.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));
if (available && !PrivateClickHouse.installed()) throw new Error('clickhouse-server is not installed (.ci/services.d/clickhouse.sh installs it)');

const chPort = available ? await freePortBlock() : 0;

describe.skipIf(!available)('distributed profile: ClickHouse outage', () => {
  const ch = new PrivateClickHouse(chPort);
  const d = new Deployment(4, 120, ch.url);
  afterAll(async () => {
    await ch.start().catch(() => undefined); // the deployment's cleanup drops its database
    await d.destroy();
    await ch.destroy();
  }, 120_000);

  it('ClickHouse stopped mid-stream: no loss, lag rises then drains to 0', async () => {
    await ch.start();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await d.api(port);
    d.worker(0, 1);
    const now = Date.now();
    let next = 0;
    const batch = (n: number) =>
      Array.from({ length: n }, () => {
        const i = next++;
        return { specversion: '1.0', id: `o-${i}`, source: 'outage', type: 'call', subject: `t-${i % 11}`, time: new Date(now - (i % 600) * 1000).toISOString(), data: { shard: i % 3, units: 2 } };
      });

    for (let b = 0; b < 10; b++) await sendWithRetry([url], 0, batch(500));
    await eventually('the first events are committed', async () => (await lagOf(url)) === 0);

    await ch.stop();
    const lags: number[] = [];
    try {
      // Ingest keeps acknowledging while ClickHouse is down: the events wait in JetStream.
      for (let b = 0; b < 10; b++) {
        const r = await sendWithRetry([url], 0, batch(500));
        expect(r.accepted).toBe(500);
        lags.push((await lagOf(url)) ?? -1);
      }
      await sleep(1_500); // workers keep retrying meanwhile
      lags.push((await lagOf(url)) ?? -1);
    } finally {
      await ch.start();
    }
    console.log(`lag while ClickHouse was down: ${lags.join(' → ')}`);
    expect(lags[lags.length - 1]).toBe(5_000);
    expect(lags[0]).toBeLessThan(lags[lags.length - 1]!);

    await eventually('lag drains to 0 after ClickHouse is back', async () => (await lagOf(url)) === 0);
    const range = `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 600_000).toISOString()}`;
    await eventually('queries answer again', async () => (await query(url, 'calls', range).catch(() => []))[0]?.value === String(next));
    expect((await query(url, 'units', range))[0]!.value).toBe(String(next * 2));
    const [[rows]] = (await d.clickhouse('SELECT count() FROM events')) as [[string]];
    expect(Number(rows)).toBe(next);
  }, 300_000);
});
