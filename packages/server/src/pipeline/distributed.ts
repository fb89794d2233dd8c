import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { TallyConfig } from '../config/schema.ts';
import type { EpochMicros } from '../shared/time.ts';
import { ClickHouseStore } from '../store/clickhouse/clickhouse-store.ts';
import type { RollupDeriver } from '../store/port.ts';
import { JetStreamLog } from '../stream/nats/jetstream-log.ts';
import type { MetersFor } from '../stream/payload.ts';
import { LiveCounters } from './live-counters.ts';
import { PublishingStore } from './publishing-store.ts';
import { RedisRecentEvents } from './recent-events.ts';

/** The connected backends of the distributed profile, shared by API nodes and workers. */
export interface DistributedBackends {
  clickhouse: ClickHouseStore;
  log: JetStreamLog;
  redis: Redis;
  counters: LiveCounters;
  /** What an API node uses as its store (publish on append, read ClickHouse). */
  store: PublishingStore;
  /** Runs `fn` under a cluster-wide lock (meter registration at start). */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Adds the pipeline gauges (consumer lag per partition) to a Prometheus registry. */
  registerMetrics(registry: Registry): void;
  close(): Promise<void>;
}

const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Connects to JetStream, ClickHouse and Redis as configured (creating stream and schema when
 * missing). A worker passes its `metersFor`, so readings taken at ingest with the same meters are
 * used rather than re-evaluated.
 */
export async function openDistributed(config: TallyConfig, derive: RollupDeriver, nowMicros: () => EpochMicros, name: string, metersFor?: MetersFor): Promise<DistributedBackends> {
  const d = config.distributed;
  const redis = new Redis(d.redisUrl, { maxRetriesPerRequest: 2, retryStrategy: (n) => Math.min(n * 50, 1000), lazyConnect: true });
  redis.on('error', () => undefined); // reconnects; commands fail and are retried by their callers
  await redis.connect();
  const clickhouse = await ClickHouseStore.open({ url: d.clickhouseUrl, database: d.clickhouseDatabase, derive, nowMicros }).catch(async (err: Error) => {
    redis.disconnect();
    throw new Error(`ClickHouse at ${d.clickhouseUrl}: ${err.message}`);
  });
  let log: JetStreamLog;
  try {
    await checkStreamLayout(clickhouse, d.stream, d.partitions, d.hotTenants);
  } catch (err) {
    redis.disconnect();
    await clickhouse.close();
    throw err;
  }
  try {
    const recent = new RedisRecentEvents(redis, `${d.redisPrefix}:${d.stream}`);
    log = await JetStreamLog.open({ url: d.natsUrl, stream: d.stream, subjectPrefix: d.subjectPrefix, partitions: d.partitions, duplicateWindowMs: d.duplicateWindowSeconds * 1000, maxAgeMs: d.maxAgeHours * 3_600_000, name, recent, metersFor, hotTenants: d.hotTenants });
  } catch (err) {
    redis.disconnect();
    await clickhouse.close();
    throw new Error(`NATS at ${d.natsUrl}: ${(err as Error).message}`);
  }
  const counters = new LiveCounters(redis, `${d.redisPrefix}:${d.stream}`, d.partitions, d.hotTenants);
  const store = new PublishingStore(clickhouse, log);
  return {
    clickhouse,
    log,
    redis,
    counters,
    store,
    async exclusive(lockName, fn) {
      const key = `${d.redisPrefix}:${d.stream}:lock:${lockName}`;
      const token = randomUUID();
      while ((await redis.set(key, token, 'PX', 60_000, 'NX')) !== 'OK') await new Promise((r) => setTimeout(r, 100));
      try {
        return await fn();
      } finally {
        await redis.eval(UNLOCK, 1, key, token);
      }
    },
    registerMetrics(registry) {
      new Gauge({
        name: 'tally_pipeline_consumer_lag',
        help: 'Events in the JetStream partition not yet committed to ClickHouse by a worker',
        labelNames: ['partition'] as const,
        registers: [registry],
        async collect() {
          try {
            // The log counts messages (a batch of events each); Redis counts events published and
            // committed. 0 when no message is pending; never below the pending message count.
            for (const l of await log.lag()) {
              const { published, consumed } = l.pending === 0 ? { published: 0, consumed: 0 } : await counters.progress(l.partition);
              this.set({ partition: String(l.partition) }, l.pending === 0 ? 0 : Math.max(l.pending, published - consumed));
            }
          } catch {
            /* NATS unreachable: keep the last values (readyz reports the outage) */
          }
        },
      });
    },
    async close() {
      await store.close();
      redis.disconnect();
    },
  };
}

/**
 * Which partition an event goes to depends on `partitions` and `hotTenants`; a change would send
 * re-sends of earlier events to another partition, whose writer cannot see them (docs/distributed.md).
 * The first node to start records the layout of the stream; a node configured otherwise refuses to start.
 */
async function checkStreamLayout(store: ClickHouseStore, stream: string, partitions: number, hotTenants: readonly string[]): Promise<void> {
  const key = `stream_layout:${stream}`;
  const layout = JSON.stringify({ partitions, hotTenants: [...new Set(hotTenants)].sort() });
  const recorded = await store.getMeta(key);
  if (recorded === undefined) await store.setMeta(key, layout);
  else if (recorded !== layout) {
    throw new Error(`stream ${stream} was created with ${recorded} (partitions, hot tenants) but this node is configured with ${layout}: they are fixed for the life of a stream (use a new stream and database to change them)`);
  }
}
