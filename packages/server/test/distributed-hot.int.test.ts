import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST_METERS, Deployment, freePort } from './distributed-helpers.ts';
import { exactlyOnceAcrossKills } from './distributed-scenario.ts';

/**
 * A hot tenant (`distributed.hotTenants`) sends half of all events: they spread over every
 * partition by event id, and the exactly-once scenario (3 API nodes, 2 workers, kills, 20 %
 * re-sends inside and beyond the duplicate window) still counts each event once, in
 * ClickHouse and in the hot tenant's live counters, which are summed over the partitions.
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));
const TOTAL = Number(process.env.TALLY_DIST_EVENTS ?? 20_000);
const PARTITIONS = 6;

describe.skipIf(!available)('distributed profile: a hot tenant spread over every partition', () => {
  const d = new Deployment(PARTITIONS, 3, undefined, 5000, DIST_METERS, [], ['hot']);
  afterAll(() => d.destroy(), 120_000);

  it(`${TOTAL} events, half of them from one hot tenant, 20 % re-sent, kills: each event counted once`, async () => {
    const perTenant = await exactlyOnceAcrossKills(d, { total: TOTAL, batch: 500, tenants: 11, tenantOf: (i) => (i % 2 === 0 ? 'hot' : `tenant-${(i >> 1) % 10}`) });
    expect(perTenant.get('hot')).toBe(TOTAL / 2);
    const parts = await d.clickhouse("SELECT tenant = 'hot' AS hot, part, count() FROM events GROUP BY hot, part ORDER BY hot, part");
    const hot = parts.filter((r) => r[0] === '1');
    // Every partition holds some of the hot tenant's events (an even spread: none holds more than twice its share).
    expect(hot.map((r) => Number(r[1]))).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
    for (const r of hot) expect(Number(r[2])).toBeLessThan((2 * TOTAL) / 2 / PARTITIONS);
    // The other tenants each stay in one partition.
    const [[spread]] = (await d.clickhouse("SELECT max(n) FROM (SELECT tenant, uniqExact(part) AS n FROM events WHERE tenant != 'hot' GROUP BY tenant)")) as [[string]];
    expect(spread).toBe('1');
  }, 900_000);

  it('a node configured with another list of hot tenants for the same stream refuses to start', async () => {
    const other = join(d.dir, 'other.config.yaml');
    const text = readFileSync(d.configFile, 'utf8');
    expect(text).toContain('hotTenants: ["hot"]');
    writeFileSync(other, text.replace('hotTenants: ["hot"]', 'hotTenants: ["hot", "tenant-3"]'));
    const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--port', String(await freePort()), '--config', other], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TALLY_LOG_LEVEL: 'warn', TALLY_CONFIG: '' } });
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(r.stderr + r.stdout).toMatch(/fixed for the life of a stream/);
  }, 180_000);
});
