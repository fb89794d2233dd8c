import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { CH_URL, DIST_METERS, Deployment, KEY, eventually, freePort } from './distributed-helpers.ts';

/**
 * #16 canaries on the distributed profile (every 5 s, SLO 4 s): with the pipeline worker stopped
 * the canary fails within two runs; with the worker back it is ok again, every check (raw,
 * rollups, queries, Redis live counters).
 */
const available = (await serviceAvailable('NATS', '127.0.0.1', 4222)) && (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));
const CANARY = { enabled: true, tenant: '_canary', meter: 'calls', data: { shard: 'c', units: 1 }, events: 2, schedule: '*/5 * * * * *', sloSeconds: 4, windowSeconds: 60 };

interface Run {
  id: string;
  startedAt: string;
  status: string;
  output: { rules: { rule: string; status: string; results: { expected: string; actual: string }[] }[] } | null;
}

describe.skipIf(!available)('canaries (distributed)', () => {
  const d = new Deployment(2, 5, CH_URL, 5000, DIST_METERS, [`audit: { canary: ${JSON.stringify(CANARY)} }`]);
  afterAll(() => d.destroy(), 120_000);

  it('canary stopped (worker down) → a failure within two runs; restored → ok again', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await d.api(Number(new URL(url).port));
    let worker = d.worker(0, 1);
    const runs = async (): Promise<Run[]> => ((await (await fetch(`${url}/v1/jobs?job=canary&limit=200`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { runs: Run[] }).runs.filter((r) => r.status === 'succeeded');
    const allOk = (r: Run) => r.output!.rules.every((x) => x.status === 'ok');
    const checkedRaw = (r: Run) => r.output!.rules.find((x) => x.rule === 'canary.raw')!.results.length === 0 && r.output!.rules.some((x) => x.rule === 'canary.live-counters');
    await eventually('a healthy canary run that checked earlier batches', async () => {
      const [last] = await runs();
      const all = await runs();
      return last !== undefined && all.length >= 3 && allOk(last) && checkedRaw(last);
    });
    const before = new Set((await runs()).map((r) => r.id));
    await d.kill(worker);
    let failed: Run | undefined;
    await eventually('a failing canary run', async () => {
      const after = (await runs()).filter((r) => !before.has(r.id)).reverse();
      failed = after.find((r) => !allOk(r));
      if (failed) expect(after.indexOf(failed)).toBeLessThan(2);
      return failed !== undefined;
    });
    expect(failed!.output!.rules.find((r) => r.rule === 'canary.raw')!.status).toBe('discrepancy');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/tally_reconciliation_discrepancies\{rule="canary.raw"\} 1/);
    worker = d.worker(0, 1);
    await eventually('the canary ok again', async () => {
      const [last] = await runs();
      return last !== undefined && allOk(last) && (await runs()).findIndex((r) => r.id === failed!.id) > 2;
    });
    const latest = ((await (await fetch(`${url}/v1/reconciliation`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { rules: { rule: string; status: string }[] }).rules;
    expect(latest.filter((r) => r.rule.startsWith('canary.')).map((r) => [r.rule, r.status])).toEqual([['canary.ingest', 'ok'], ['canary.live-counters', 'ok'], ['canary.query', 'ok'], ['canary.raw', 'ok'], ['canary.rollups', 'ok']]);
  }, 400_000);
});
