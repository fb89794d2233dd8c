import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

/**
 * Creates an ioredis client tuned for inline limiting: commands fail fast while disconnected
 * (no offline queue, one attempt) instead of queueing behind an outage, and reconnects are retried
 * every ≤ 100 ms so a returning server is used again well within a second. Errors are counted
 * on the returned client's `limiterErrors` rather than logged as unhandled events.
 */
export function createRedisClient(url = 'redis://127.0.0.1:6379', options: RedisOptions = {}): Redis & { limiterErrors: number } {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 20, 100),
    ...options,
  }) as Redis & { limiterErrors: number };
  client.limiterErrors = 0;
  client.on('error', () => {
    client.limiterErrors += 1;
  });
  return client;
}
