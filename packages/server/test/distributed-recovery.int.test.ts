import { setTimeout as sleep } from 'node:timers/promises';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';
import type { EventRecord } from '../src/events/event.ts';
import { MeterRegistry } from '../src/meters/registry.ts';
import { openDistributed, type DistributedBackends } from '../src/pipeline/distributed.ts';
import { PartitionLease } from '../src/pipeline/lease.ts';
import { PipelineWorker } from '../src/pipeline/worker.ts';
import { partitionOf } from '../src/stream/port.ts';
import { deriveRollups } from '../src/usage/derive-rollups.ts';
import { Deployment, KEY } from './distributed-helpers.ts';

/**
 * The recovery paths of one worker, in process: a worker that died after its ClickHouse commit
 * but before Redis and the log ack. Its successor must skip what the watermark covers (no
 * double rows), rebuild the Redis counters from ClickHouse, and drop re-sends that arrive
 * after JetStream's duplicate window.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));

describe.skipIf(!available)('pipeline worker recovery', () => {
  const d = new Deployment(2, 1);
  let b: DistributedBackends | undefined;
  afterAll(async () => {
    await b?.close();
    await d.destroy();
  }, 60_000);

  it('skips committed entries, rebuilds Redis from ClickHouse, and dedupes re-sends beyond the window', async () => {
    const registry = new MeterRegistry([
      { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} },
      { slug: 'units', eventType: 'call', aggregation: 'SUM', valueProperty: '$.units', groupBy: {} },
    ]);
    const derive = (events: readonly EventRecord[]) => deriveRollups(events, (t) => registry.forType(t));
    const config = configSchema.parse({
      profile: 'distributed',
      distributed: { stream: d.stream, subjectPrefix: `tally.test.${d.id}`, partitions: 2, duplicateWindowSeconds: 1, clickhouseDatabase: d.database, redisPrefix: d.redisPrefix },
      security: { actorHashSecret: 'recovery-secret-0123456789', adminKey: KEY },
    });
    b = await openDistributed(config, derive, () => Date.now() * 1000, 'recovery-test');
    const backends = b;
    const day = new Date().toISOString().slice(0, 10);
    const time = Date.now() * 1000;
    const events: EventRecord[] = Array.from({ length: 200 }, (_, i) => {
      const data = { units: '0.25' };
      return { tenant: `t${i % 5}`, id: `r-${i}`, type: 'call', source: 'test', time, actor: null, data, dataJson: JSON.stringify(data), contentHash: `h${i}` };
    });
    expect(new Set(await backends.log.publish(events))).toEqual(new Set(['accepted']));

    // "The previous worker": reads partition 0, commits to ClickHouse, dies before Redis and the ack.
    const p0 = events.filter((e) => partitionOf(e.tenant, 2) === 0).length;
    const cursor = await backends.log.open(0, 0);
    const entries = await cursor.next(1000, 2000);
    expect(entries).toHaveLength(p0);
    await backends.clickhouse.commitStream({ part: 0, lastSeq: entries[entries.length - 1]!.seq, events: entries });
    await cursor.close();

    const replayed = new Map<number, number>();
    const worker = new PipelineWorker({
      store: backends.clickhouse,
      log: backends.log,
      counters: backends.counters,
      lease: new PartitionLease(backends.redis, `${d.redisPrefix}:${d.stream}`, [0, 1], 2_000),
      derive,
      batchSize: 500,
      onEvent: (e) => {
        if (e.kind === 'recovered') replayed.set(e.partition, e.countersReplayed);
      },
    });
    await worker.start();
    try {
      const total = async () => {
        let n = 0n;
        for (let t = 0; t < 5; t++) n += (await backends.counters.read(`t${t}`, registry.get('calls')!.series, `d:${day}`)).count;
        return n;
      };
      for (let i = 0; i < 200 && (await total()) < 200n; i++) await sleep(50);
      expect(await total()).toBe(200n);
      expect(await backends.clickhouse.countEvents()).toBe(200n);

      // Re-sent after the 1 s duplicate window: JetStream accepts them again, the worker must not.
      await sleep(1_200);
      expect(new Set(await backends.log.publish(events.slice(0, 50)))).toEqual(new Set(['accepted']));
      const drained = async () => (await backends.log.lag()).every((l) => l.pending === 0);
      for (let i = 0; i < 200 && !(await drained()); i++) await sleep(50);
      expect(await drained()).toBe(true);
      expect(await backends.clickhouse.countEvents()).toBe(200n);
      expect(await total()).toBe(200n);
      let units = 0n;
      for (let t = 0; t < 5; t++) units += (await backends.counters.read(`t${t}`, registry.get('units')!.series, `m:${day.slice(0, 7)}`)).sum;
      expect(units).toBe(50n * 10n ** 12n); // 200 × 0.25
      // Partition 0's counters were rebuilt from ClickHouse, not from the log.
      expect(replayed.get(0)).toBe(p0);
      expect(replayed.get(1)).toBe(0);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
