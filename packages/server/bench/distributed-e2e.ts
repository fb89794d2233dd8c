/**
 * One end-to-end run of the distributed profile for bench:distributed: API nodes and workers as
 * child processes on their own stream, database and Redis prefix, HTTP batches sent by `clients`
 * concurrent senders, timed until ClickHouse holds every event; CPU per process group, lag per
 * event (send → committed) and events per partition.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { stringify as toYaml } from 'yaml';
import type { DemoEvent } from '../src/demo/generator.ts';
import { BENCH_KEY, CLI, SERVER_NODE_FLAGS, cpuSeconds, fmt, freePort, post, startServerProcess, threadCpu, threadLine } from './support.ts';

/** ClickHouse as the benches reach it. */
export const CH_URL = process.env.TALLY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';

/** The stream, database and Redis prefix of a run (unique per run id). */
export function names(run: string): { database: string; stream: string; redisPrefix: string } {
  return { database: `tally_bench_${run}`, stream: `TALLY_BENCH_${run}`, redisPrefix: `tally-bench-${run}` };
}

/** The deployment and load of one end-to-end run. */
export interface EndToEndOptions {
  /** Unique id of the run (names its stream, database and Redis keys). */
  run: string;
  meters: unknown[];
  clients: number;
  batch: number;
  apis: number;
  workers: number;
  partitions: number;
  workerBatch: number;
  hotTenants?: string[];
}

/** What one end-to-end run measured. */
export interface EndToEndResult {
  threads: string;
  rate: number;
  lagP50: number;
  lagP99: number;
  cpu: CpuUse;
  /** Events committed per partition, in partition order. */
  perPartition: number[];
}

/**
 * Starts `tally worker`; `ready` resolves once it has taken its partitions and recovered each
 * (its JSON log says so), so the timed run measures the pipeline, not a worker's start-up
 * (loading and compiling its modules takes seconds of CPU on a small machine).
 */
function startWorker(config: string, index: number, of: number): { child: ChildProcess; ready: Promise<void> } {
  const flags = process.env.TALLY_BENCH_WORKER_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...flags, '--import', 'tsx', CLI, 'worker', '--config', config, '--index', String(index), '--of', String(of), '--quiet'], { stdio: ['ignore', flags.length > 0 ? 'inherit' : 'ignore', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    let partitions: number[] | undefined;
    const recovered = new Set<number>();
    // The worker logs JSON lines to stderr: passed through as before, and read for its progress.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      process.stderr.write(`${line}\n`);
      let e: { kind?: string; partitions?: number[]; partition?: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        return;
      }
      if (e.kind === 'started') partitions = e.partitions;
      if (e.kind === 'recovered' && e.partition !== undefined) recovered.add(e.partition);
      if (partitions?.every((p) => recovered.has(p))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker ${index} exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

export function pidsOf(pattern: string): number[] {
  return spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
}

async function committed(ch: ReturnType<typeof createClient>): Promise<number> {
  const text = await (await ch.query({ query: 'SELECT count() FROM events', format: 'TabSeparated' })).text();
  return Number(text.trim());
}

/** CPU seconds per component over the end-to-end run. */
export type CpuUse = Record<'api' | 'workers' | 'nats' | 'clickhouse' | 'redis' | 'bench client' | 'whole machine', number>;

/** CPU seconds the whole machine has spent busy (all cores, from /proc/stat). */
function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100; // user nice system irq softirq steal
  } catch {
    return 0;
  }
}

export async function endToEnd(events: DemoEvent[], o: EndToEndOptions): Promise<EndToEndResult> {
  const { database, stream, redisPrefix } = names(o.run);
  const BATCH = o.batch;
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-dist-'));
  const config = join(dir, 'tally.config.yaml');
  writeFileSync(
    config,
    toYaml({
      profile: 'distributed',
      distributed: { stream, subjectPrefix: `tally.bench.${o.run}`, partitions: o.partitions, clickhouseDatabase: database, redisPrefix, workerBatch: o.workerBatch, hotTenants: o.hotTenants ?? [] },
      security: { actorHashSecret: 'bench-secret-0123456789abcdef', adminKey: BENCH_KEY },
      ingest: { maxEventsPerRequest: BATCH },
      store: { dataDir: join(dir, 'data') },
      meters: o.meters,
    }),
  );
  const apis: Awaited<ReturnType<typeof startServerProcess>>[] = [];
  for (let i = 0; i < o.apis; i++) apis.push(await startServerProcess(config, await freePort()));
  const started = Array.from({ length: o.workers }, (_, i) => startWorker(config, i, o.workers));
  const workers = started.map((w) => w.child);
  const ch = createClient({ url: CH_URL, database, request_timeout: 300_000 });
  await Promise.all(started.map((w) => w.ready));
  const bodies: Buffer[] = [];
  for (let b = 0; b < events.length; b += BATCH) bodies.push(Buffer.from(JSON.stringify(events.slice(b, b + BATCH))));
  const sentAt = new Float64Array(bodies.length);
  const groups = { api: apis.map((a) => a.child.pid), workers: workers.map((w) => w.pid), nats: pidsOf('nats-server'), clickhouse: pidsOf('clickhouse-server'), redis: pidsOf('redis-server') };
  const sum = (pids: (number | undefined)[]) => pids.reduce<number>((acc, p) => acc + cpuSeconds(p), 0);
  const self = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const cpuNow = (): CpuUse => ({
    api: sum(groups.api),
    workers: sum(groups.workers),
    nats: sum(groups.nats),
    clickhouse: sum(groups.clickhouse),
    redis: sum(groups.redis),
    'bench client': self(),
    'whole machine': machineBusySeconds(),
  });
  const threads0 = { api: threadCpu(groups.api), workers: threadCpu(groups.workers) };
  const cpu0 = cpuNow();
  let next = 0;
  const t0 = performance.now();
  const t0Epoch = Date.now();
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      for (let i = next++; i < bodies.length; i = next++) {
        sentAt[i] = t0Epoch + (performance.now() - t0);
        const res = await post(`${apis[(i + c) % apis.length]!.url}/v1/events`, bodies[i]!, { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' });
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${res.text}`);
      }
    }),
  );
  const httpDone = performance.now();
  while ((await committed(ch)) < events.length) await sleep(50);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = cpuNow();
  const threads = `api threads (user+sys µs/event): ${threadLine(threads0.api, threadCpu(groups.api), events.length)}\n  worker threads: ${threadLine(threads0.workers, threadCpu(groups.workers), events.length)}`;
  const cpu = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, v - cpu0[k as keyof CpuUse]])) as CpuUse;
  const parts = await (await ch.query({ query: 'SELECT part, count() FROM events GROUP BY part ORDER BY part', format: 'TabSeparated' })).text();
  const perPartition = parts.trim().split('\n').map((l) => Number(l.split('\t')[1]));
  console.log(`  HTTP acknowledged all events after ${((httpDone - t0) / 1000).toFixed(2)} s; all committed to ClickHouse after ${elapsed.toFixed(2)} s`);
  // End-to-end lag per event: committed (ingested_us, stamped by the worker) − HTTP send of its batch.
  const text = await (await ch.query({ query: 'SELECT id, ingested_us FROM events', format: 'TabSeparated' })).text();
  const lags = text
    .trim()
    .split('\n')
    .map((l) => {
      const [id, at] = l.split('\t') as [string, string];
      return Number(at) / 1000 - sentAt[Math.floor(Number(id.slice(2)) / BATCH)]!;
    })
    .sort((a, b) => a - b);
  const sizes = await (await ch.query({ query: `SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY table`, format: 'TabSeparated' })).text();
  console.log(`  ClickHouse bytes on disk per event: ${sizes.trim().split('\n').map((l) => { const [t, b] = l.split('\t'); return `${t} ${(Number(b) / events.length).toFixed(1)}`; }).join(', ')}`);
  console.log(`  CloudEvent JSON as sent: ${fmt(events.reduce((acc, e) => acc + JSON.stringify(e).length, 0) / events.length)} B per event`);
  const nc = await connect({ servers: process.env.TALLY_NATS_URL ?? 'nats://127.0.0.1:4222' });
  const { state } = await (await nc.jetstreamManager()).streams.info(stream);
  await nc.close();
  const [batches, inserts] = (await (await ch.query({ query: 'SELECT count(), uniqExact(at_us) FROM marks', format: 'TabSeparated' })).text()).trim().split('\t').map(Number) as [number, number];
  console.log(`  JetStream: ${fmt(state.messages)} messages (${(events.length / state.messages).toFixed(0)} events each), ${fmt(state.bytes / events.length)} B per event stored; ClickHouse: ${fmt(inserts)} inserts of ${fmt(events.length / inserts)} events (${fmt(batches)} partition batches)`);
  await ch.close();
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
  for (const a of apis) await a.stop();
  rmSync(dir, { recursive: true, force: true });
  return { threads, rate: events.length / elapsed, lagP50: lags[Math.floor(lags.length * 0.5)]!, lagP99: lags[Math.floor(lags.length * 0.99)]!, cpu, perPartition };
}

/** Drops the database, stream and Redis keys of a run. */
export async function cleanup(run: string): Promise<void> {
  const { database, stream, redisPrefix } = names(run);
  const ch = createClient({ url: CH_URL });
  await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  await ch.close();
  const nc = await connect({ servers: process.env.TALLY_NATS_URL ?? 'nats://127.0.0.1:4222' });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  await nc.close();
  const redis = new Redis(process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = nextCursor;
  } while (cursor !== '0');
  redis.disconnect();
}

