import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { type Deployment, REDIS_URL, eventually, freePort, lagOf, query, sendWithRetry, seriesOf } from './distributed-helpers.ts';

/** How the exactly-once scenario sends: how many events, in batches of how many, to which tenants. */
export interface ScenarioOptions {
  total: number;
  batch: number;
  tenants: number;
  /** The tenant of event i (default: `tenant-${i % tenants}`, evenly spread). */
  tenantOf?: (i: number) => string;
}

/**
 * 3 API nodes and 2 workers, clients that retry and re-send 20 % of their batches (some inside
 * JetStream's duplicate window, most beyond it), one worker and one API node SIGKILLed
 * mid-stream and restarted. ClickHouse totals and the Redis live counters must equal the
 * distinct events exactly, through any node, in total and per tenant. Returns the expected
 * events per tenant (for further checks by the caller).
 */
export async function exactlyOnceAcrossKills(d: Deployment, o: ScenarioOptions): Promise<Map<string, number>> {
  const { total: TOTAL, batch: BATCH, tenants: TENANTS } = o;
  const tenantOf = o.tenantOf ?? ((i: number) => `tenant-${i % TENANTS}`);
  const ports = [await freePort(), await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const apis: ChildProcess[] = [];
  for (const p of ports) apis.push(await d.api(p));
  const workers = [d.worker(0, 2), d.worker(1, 2)];

  const now = Date.now();
  const times = new Set<string>();
  const perTenant = new Map<string, number>();
  const batches = Array.from({ length: Math.ceil(TOTAL / BATCH) }, (_, b) =>
    Array.from({ length: Math.min(BATCH, TOTAL - b * BATCH) }, (_, k) => {
      const i = b * BATCH + k;
      const time = new Date(now - (i % 3600) * 1000).toISOString();
      times.add(time.slice(0, 10));
      const subject = tenantOf(i);
      perTenant.set(subject, (perTenant.get(subject) ?? 0) + 1);
      return { specversion: '1.0', id: `e-${i}`, source: 'dist', type: 'call', subject, time, data: { shard: i % 5, units: '0.1' } };
    }),
  );
  const stats = { accepted: 0, duplicates: 0, requests: 0 };
  const send = async (batch: unknown[], start: number) => {
    const r = await sendWithRetry(urls, start, batch);
    stats.accepted += r.accepted;
    stats.duplicates += r.duplicates;
    stats.requests += r.attempts;
  };

  let sent = 0;
  const kills = (async () => {
    const third = Math.floor(batches.length / 3);
    while (sent < third) await sleep(50);
    await d.kill(workers[1]!);
    await sleep(1_000);
    workers[1] = d.worker(1, 2);
    while (sent < 2 * third) await sleep(50);
    await d.kill(apis[2]!);
    await sleep(500);
    apis[2] = await d.api(ports[2]!);
  })();

  // 6 clients; every 5th batch is re-sent right away (inside the window) or at the end (beyond it).
  const queue = [...batches.keys()];
  const late: number[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async (_, c) => {
      for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
        await send(batches[b]!, b + c);
        sent++;
        if (b % 5 === 0) {
          if (b % 10 === 0) await send(batches[b]!, b + c + 1);
          else late.push(b);
        }
      }
    }),
  );
  await kills;
  await sleep(d.duplicateWindowSeconds * 1000 + 500); // past the duplicate window
  for (const b of late) await send(batches[b]!, b);

  await eventually('consumer lag 0 and every event in ClickHouse', async () => {
    const lag = await lagOf(urls[0]!);
    if (lag !== 0) return false;
    const [[n]] = (await d.clickhouse('SELECT count() FROM events')) as [[string]];
    return Number(n) >= TOTAL;
  });

  const range = `from=${new Date(now - 7_200_000).toISOString()}&to=${new Date(now + 600_000).toISOString()}`;
  const answers = await Promise.all(urls.map(async (u) => ({ calls: await query(u, 'calls', range), units: await query(u, 'units', range), byTenant: await query(u, 'calls', `${range}&groupBy=tenant`) })));
  console.log(
    `distributed: ${TOTAL} distinct events, ${stats.requests} requests, receipts ${stats.accepted} accepted + ${stats.duplicates} duplicate; ` +
      `via ${urls.length} nodes: calls=${answers.map((a) => a.calls[0]?.value).join('/')}, units=${answers[0]!.units[0]?.value}`,
  );
  for (const a of answers) {
    expect(a.calls[0]!.value).toBe(String(TOTAL));
    expect(a.units[0]!.value).toBe(String(TOTAL / 10));
    expect(a.byTenant).toEqual(answers[0]!.byTenant);
  }
  expect(answers[0]!.byTenant).toHaveLength(perTenant.size);
  expect(Object.fromEntries(answers[0]!.byTenant.map((r) => [r.tenant, r.value]))).toEqual(Object.fromEntries([...perTenant].map(([t, n]) => [t, String(n)])));
  const [[rows, distinct]] = (await d.clickhouse('SELECT count(), uniqExact(tenant, id) FROM events')) as [[string, string]];
  expect([Number(rows), Number(distinct)]).toEqual([TOTAL, TOTAL]);
  // Every accepted receipt is at least one distinct event; re-sends beyond the window are also "accepted".
  expect(stats.accepted + stats.duplicates).toBeGreaterThanOrEqual(TOTAL);

  const redis = new Redis(REDIS_URL);
  try {
    const counters = d.counters(redis);
    let count = 0n;
    let sum = 0n;
    for (const [tenant, n] of perTenant) {
      let tenantCount = 0n;
      for (const day of times) {
        tenantCount += (await counters.read(tenant, seriesOf('calls'), `d:${day}`)).count;
        sum += (await counters.read(tenant, seriesOf('units'), `d:${day}`)).sum;
      }
      expect({ tenant, count: tenantCount }).toEqual({ tenant, count: BigInt(n) });
      count += tenantCount;
    }
    expect(count).toBe(BigInt(TOTAL));
    expect(sum).toBe(BigInt(TOTAL) * 10n ** 11n); // 0.1 × TOTAL, scaled by 10^12
  } finally {
    redis.disconnect();
  }
  return perTenant;
}
