/**
 * bench:distributed — the distributed profile end to end: HTTP ingest on API nodes → JetStream
 * → pipeline workers → ClickHouse (raw events + minute/hour/day rollups + Redis live counters),
 * timed until the last event is committed, against the engine's ceiling in the same run: a
 * raw ClickHouse JSONEachRow insert of the same events into a plain events table (and, for
 * reference, the same rows in RowBinary, the format the pipeline inserts in). Prints both
 * rates, the ratio (target ≥ 0.5), the end-to-end lag (HTTP send → committed in ClickHouse) and
 * the CPU each role spent per event (the input of docs/scaling.md).
 *
 *   npm run bench:distributed [-- --events 300000 --clients 4 --batch 1000 --apis 1 --workers 2 --partitions 4]
 *
 * TALLY_BENCH_WORKER_FLAGS passes node flags to the workers (e.g. `--cpu-prof`; their stdout is then shown).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { stringify as toYaml } from 'yaml';
import { DemoTraffic, type DemoEvent } from '../src/demo/generator.ts';
import { RowBinaryWriter } from '../src/events/row-binary.ts';
import { BENCH_KEY, CLI, SERVER_NODE_FLAGS, cpuSeconds, fmt, freePort, post, startServerProcess, threadCpu, threadLine } from './support.ts';

const { values: args } = parseArgs({
  options: {
    // Enough for steady state: over 100,000 events the processes' JIT warm-up was a third of their CPU.
    events: { type: 'string', default: '300000' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '1000' },
    apis: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '4' },
    'worker-batch': { type: 'string', default: '5000' },
  },
});
const N = Number(args.events);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const CH_URL = process.env.TALLY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const database = `tally_bench_${run}`;
const stream = `TALLY_BENCH_${run}`;
const redisPrefix = `tally-bench-${run}`;
const dir = mkdtempSync(join(tmpdir(), 'tally-bench-dist-'));

const METERS = [
  { slug: 'api_requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route', method: '$.method', status_class: '$.statusClass' } },
  { slug: 'response_bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.responseBytes', groupBy: { route: '$.route' } },
  { slug: 'llm_tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
  { slug: 'feature_usage', eventType: 'feature.used', aggregation: 'COUNT', groupBy: { feature: '$.feature' } },
];

function makeEvents(): DemoEvent[] {
  const traffic = new DemoTraffic({ tenants: 100, seed: 42 });
  const now = Date.now();
  return Array.from({ length: N }, (_, i) => ({ ...traffic.next(now - 3_600_000 + Math.floor((i / N) * 3_500_000)), id: `b-${i}` }));
}

/**
 * The ceiling: the same events as JSONEachRow into a plain MergeTree events table, batch by
 * batch (the issue's baseline). With `rowBinary`, the same rows in RowBinary, the engine's
 * cheapest input format (the pipeline's own inserts use it).
 */
async function rawInsertRate(events: DemoEvent[], rowBinary = false): Promise<{ rate: number; chCpu: number }> {
  const ch = createClient({ url: CH_URL });
  const table = rowBinary ? 'raw_events_rb' : 'raw_events';
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await ch.command({
    query: `CREATE TABLE ${database}.${table} (tenant String, id String, type String, source String, time_us Int64, actor Nullable(String), data String, ingested_us Int64) ENGINE = MergeTree ORDER BY (tenant, id)`,
  });
  const chPids = pidsOf('clickhouse-server');
  const cpu0 = chPids.reduce((acc, p) => acc + cpuSeconds(p), 0);
  const t0 = performance.now();
  for (let b = 0; b < events.length; b += Number(args['worker-batch'])) {
    const rows = events.slice(b, b + Number(args['worker-batch'])).map((e) => ({ tenant: e.subject, id: e.id, type: e.type, source: e.source, time_us: Date.parse(e.time) * 1000, actor: e.actor, data: JSON.stringify(e.data), ingested_us: Date.now() * 1000 }));
    if (!rowBinary) {
      await ch.insert({ table: `${database}.${table}`, values: rows, format: 'JSONEachRow' });
      continue;
    }
    const w = new RowBinaryWriter();
    for (const r of rows) {
      w.string(r.tenant);
      w.string(r.id);
      w.string(r.type);
      w.string(r.source);
      w.int64(r.time_us);
      w.nullableString(r.actor);
      w.string(r.data);
      w.int64(r.ingested_us);
    }
    const res = await ch.exec({ query: `INSERT INTO ${database}.${table} FORMAT RowBinary`, values: Readable.from([w.view()]) });
    res.stream.resume();
    await finished(res.stream);
  }
  const rate = events.length / ((performance.now() - t0) / 1000);
  const chCpu = chPids.reduce((acc, p) => acc + cpuSeconds(p), 0) - cpu0;
  // Its merges now, not during the end-to-end run whose ClickHouse CPU is measured next.
  await ch.command({ query: `OPTIMIZE TABLE ${database}.${table} FINAL` });
  await ch.close();
  return { rate, chCpu };
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

function pidsOf(pattern: string): number[] {
  return spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
}

async function committed(ch: ReturnType<typeof createClient>): Promise<number> {
  const text = await (await ch.query({ query: 'SELECT count() FROM events', format: 'TabSeparated' })).text();
  return Number(text.trim());
}

/** CPU seconds per component over the end-to-end run. */
type CpuUse = Record<'api' | 'workers' | 'nats' | 'clickhouse' | 'redis' | 'bench client' | 'whole machine', number>;

/** CPU seconds the whole machine has spent busy (all cores, from /proc/stat). */
function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100; // user nice system irq softirq steal
  } catch {
    return 0;
  }
}

async function endToEnd(events: DemoEvent[]): Promise<{ threads: string; rate: number; lagP50: number; lagP99: number; cpu: CpuUse }> {
  const config = join(dir, 'tally.config.yaml');
  writeFileSync(
    config,
    toYaml({
      profile: 'distributed',
      distributed: { stream, subjectPrefix: `tally.bench.${run}`, partitions: Number(args.partitions), clickhouseDatabase: database, redisPrefix, workerBatch: Number(args['worker-batch']) },
      security: { actorHashSecret: 'bench-secret-0123456789abcdef', adminKey: BENCH_KEY },
      ingest: { maxEventsPerRequest: BATCH },
      store: { dataDir: join(dir, 'data') },
      meters: METERS,
    }),
  );
  const apis: Awaited<ReturnType<typeof startServerProcess>>[] = [];
  for (let i = 0; i < Number(args.apis); i++) apis.push(await startServerProcess(config, await freePort()));
  const started = Array.from({ length: Number(args.workers) }, (_, i) => startWorker(config, i, Number(args.workers)));
  const workers = started.map((w) => w.child);
  const ch = createClient({ url: CH_URL, database });
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
    Array.from({ length: CLIENTS }, async (_, c) => {
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
  return { threads, rate: events.length / elapsed, lagP50: lags[Math.floor(lags.length * 0.5)]!, lagP99: lags[Math.floor(lags.length * 0.99)]!, cpu };
}

async function cleanup(): Promise<void> {
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
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `bench:distributed — ${fmt(N)} demo events, HTTP batches of ${BATCH}, ${CLIENTS} clients, ${args.apis} API node(s), ${args.workers} worker(s), ${args.partitions} partitions, ` +
    `inserts of ≤ ${args['worker-batch']}, ${METERS.length} meters; node ${process.version}`,
);
try {
  const events = makeEvents();
  const { rate: raw, chCpu } = await rawInsertRate(events);
  console.log(`  raw ClickHouse JSONEachRow insert: ${fmt(raw)} ev/s (ClickHouse ${chCpu.toFixed(1)} CPU-s)`);
  const { rate: rawRb, chCpu: chCpuRb } = await rawInsertRate(events, true);
  console.log(`  raw ClickHouse RowBinary insert:   ${fmt(rawRb)} ev/s (ClickHouse ${chCpuRb.toFixed(1)} CPU-s)`);
  const e2e = await endToEnd(events);
  console.log(`\nraw ClickHouse JSONEachRow insert   ${fmt(raw).padStart(9)} ev/s`);
  console.log(`end to end HTTP → JetStream → CH     ${fmt(e2e.rate).padStart(9)} ev/s`);
  console.log(`ratio                                ${(e2e.rate / raw).toFixed(2)}× (target ≥ 0.5)`);
  console.log(`(vs a raw RowBinary insert            ${fmt(rawRb).padStart(9)} ev/s: ${(e2e.rate / rawRb).toFixed(2)}×)`);
  console.log(`end-to-end lag (send → committed)    p50 ${fmt(e2e.lagP50)} ms, p99 ${fmt(e2e.lagP99)} ms`);
  // CPU per component: what one core of each role sustains (the input of docs/scaling.md).
  console.log('CPU during the end-to-end run (all processes share this machine):');
  for (const [k, sec] of Object.entries(e2e.cpu)) {
    console.log(`  ${k.padEnd(13)} ${sec.toFixed(1).padStart(6)} CPU-s  ${(sec > 0 ? fmt(N / sec) : '-').padStart(9)} ev per CPU-second  ${((sec * 1e6) / N).toFixed(1).padStart(6)} µs per event`);
  }
  console.log(`  ${e2e.threads}`);
  // What this machine allows at best: the engines' own CPU per event (and the load client's),
  // spread over every core, with Tally's API nodes and workers costing nothing.
  const cores = availableParallelism();
  const perEvent = (sec: number) => (sec * 1e6) / N;
  const fixed = perEvent(e2e.cpu.nats + e2e.cpu.redis + e2e.cpu['bench client']);
  const ceiling = (chUs: number) => (cores * 1e6) / (fixed + chUs) / raw;
  console.log(`ceiling of the ratio on this machine (${cores} cores) if the API nodes and workers cost no CPU at all:`);
  console.log(`  NATS, Redis and the load client as measured, ClickHouse as measured      ${ceiling(perEvent(e2e.cpu.clickhouse)).toFixed(2)}×`);
  console.log(`  the same with ClickHouse at the raw JSONEachRow insert's cost            ${ceiling(perEvent(chCpu)).toFixed(2)}×`);
} finally {
  await cleanup();
}
