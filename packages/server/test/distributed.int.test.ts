import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, it } from 'vitest';
import { Deployment } from './distributed-helpers.ts';
import { exactlyOnceAcrossKills } from './distributed-scenario.ts';

/**
 * The distributed profile end to end on loopback: 3 API nodes and 2 workers, clients that
 * retry and re-send 20 % of their batches (some inside JetStream's duplicate window, most
 * beyond it), one worker and one API node SIGKILLed mid-stream and restarted. ClickHouse
 * totals and the Redis live counters must equal the distinct events exactly, through any node.
 * TALLY_DIST_EVENTS sets the event count (200 000 is the full run; the default fits CI).
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));
const TOTAL = Number(process.env.TALLY_DIST_EVENTS ?? 30_000);

describe.skipIf(!available)('distributed profile: exactly once across process kills', () => {
  // A 3 s duplicate window: end-of-run re-sends fall beyond it, so the workers' dedupe is exercised too.
  const d = new Deployment(6, 3);
  afterAll(() => d.destroy(), 120_000);

  it(`${TOTAL} events, 20 % re-sent, a worker and an API node SIGKILLed: ClickHouse and Redis count each event once`, async () => {
    await exactlyOnceAcrossKills(d, { total: TOTAL, batch: 500, tenants: 23 });
  }, 900_000);
});
