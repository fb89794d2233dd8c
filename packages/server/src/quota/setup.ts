import { randomUUID } from 'node:crypto';
import { createRedisClient } from '@tally/limiter';
import { Gauge, type Registry } from 'prom-client';
import type { TallyConfig } from '../config/schema.ts';
import type { Clock } from '../shared/time.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { QuotaCounters } from './counters.ts';
import { DistributedQuotaCounters } from './distributed/distributed-counters.ts';
import { MemoryQuotaCounters } from './memory/memory-counters.ts';
import type { QuotaService } from './quota-service.ts';
import { RedisQuotaCounters } from './redis/redis-counters.ts';

/** After a Redis data loss the counters are raised to the rollups again this often (ms)… */
export const RESEED_EVERY_MS = 5_000;

/** The quota counters of the configured profile, and how they are seeded. */
export interface QuotaCountersSetup {
  counters: QuotaCounters;
  /** Seeds from the exact rollups (distributed: only the first node after Redis started empty). */
  seed(quotas: QuotaService, queries: QueryService): Promise<void>;
  /** Exports the failure and feed-error counts. */
  registerMetrics(registry: Registry, quotas: QuotaService): void;
  close(): Promise<void>;
}

/**
 * Embedded: in-process counters, seeded at every start. Distributed: Redis counters reached
 * through each entitlement's mode; an `epoch` key tells whether Redis still holds them. When it
 * is missing (first start, or Redis came back empty) one node re-seeds from the exact rollups —
 * at once and then every 5 s for `quotas.reseedWindowSeconds` while the pipeline drains, raising
 * only, never lowering.
 */
export async function openQuotaCounters(config: TallyConfig, clock: Clock): Promise<QuotaCountersSetup> {
  if (config.profile !== 'distributed') {
    const counters = new MemoryQuotaCounters(clock);
    return { counters, seed: (quotas, queries) => quotas.seed(queries), registerMetrics: (registry, quotas) => metrics(registry, quotas), close: async () => undefined };
  }
  const q = config.quotas;
  const client = createRedisClient(q.redisUrl ?? config.distributed.redisUrl, { commandTimeout: q.commandTimeoutMs, lazyConnect: true });
  await client.connect();
  const prefix = `${config.distributed.redisPrefix}:q`;
  const redis = new RedisQuotaCounters(client, { prefix });
  const counters = new DistributedQuotaCounters(redis, clock, { syncMs: q.syncMs, leaseMs: q.leaseMs, leaseChunkPermille: q.leaseChunkPermille, failOpenMs: q.failOpenSeconds * 1000 });
  const epoch = `${prefix}:epoch`;
  const timers = new Set<NodeJS.Timeout>();
  let known: string | null = null;
  /** True when this node claimed a fresh epoch (Redis did not hold the counters). */
  const claim = async () => {
    const mine = `${randomUUID()} ${new Date().toISOString()}`;
    const won = (await client.set(epoch, mine, 'NX')) === 'OK';
    // Only the winner adopts the new epoch here: the others find it changed before their next push.
    if (won) known = mine;
    return won;
  };
  counters.sameEpoch = async () => {
    const cur = await client.get(epoch);
    if (cur === known && cur !== null) return true;
    known = cur;
    return false;
  };
  return {
    counters,
    async seed(quotas, queries) {
      if (await claim()) await quotas.seed(queries, { raiseOnly: true });
      else known = await client.get(epoch);
      counters.onRecovered = async () => {
        if (!(await claim())) return;
        counters.resetAfterReseed();
        await quotas.seed(queries, { raiseOnly: true });
        // Events still in the pipeline at the first re-seed reach the rollups later (a lagging
        // pipeline: minutes); raising never over-counts, so it is repeated for a while.
        const until = Date.now() + q.reseedWindowSeconds * 1000;
        const t = setInterval(() => {
          if (Date.now() > until) {
            clearInterval(t);
            timers.delete(t);
          } else quotas.seed(queries, { raiseOnly: true }).catch(() => undefined);
        }, RESEED_EVERY_MS).unref();
        timers.add(t);
      };
    },
    registerMetrics(registry, quotas) {
      metrics(registry, quotas);
      new Gauge({
        name: 'tally_quota_redis_failures',
        help: 'Quota counter calls to Redis that failed since start (each decided by a failure policy or retried)',
        registers: [registry],
        collect() {
          this.set(counters.outage.failures);
        },
      });
    },
    async close() {
      for (const t of timers) clearInterval(t);
      await counters.close();
      client.disconnect();
    },
  };
}

function metrics(registry: Registry, quotas: QuotaService): void {
  new Gauge({
    name: 'tally_quota_feed_errors',
    help: 'Stored events the quota feed could not count since start (see docs/quotas.md)',
    registers: [registry],
    collect() {
      this.set(quotas.feedErrors);
    },
  });
  new Gauge({
    name: 'tally_quota_warning_write_failures',
    help: 'Quota warnings whose write failed since start (retried at the next evaluation)',
    registers: [registry],
    collect() {
      this.set(quotas.warnings.failures);
    },
  });
}
