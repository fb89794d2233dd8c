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
 *   npm run bench:distributed -- --hot   (one tenant sends half the events: even vs one partition vs hotTenants)
 *
 * TALLY_BENCH_WORKER_FLAGS passes node flags to the workers (e.g. `--cpu-prof`; their stdout is then shown).
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { DemoTraffic, type DemoEvent } from '../src/demo/generator.ts';
import { RowBinaryWriter } from '../src/events/row-binary.ts';
import { CH_URL, cleanup, endToEnd, names, pidsOf, type EndToEndOptions } from './distributed-e2e.ts';
import { cpuSeconds, fmt } from './support.ts';

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
    // One tenant sends half of all events: even traffic vs that tenant in one partition vs spread (hotTenants).
    hot: { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const { database } = names(run);
const runs = [run];

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
 * batch (the baseline). With `rowBinary`, the same rows in RowBinary, the engine's
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
 * --hot: the same events three times: spread over 100 tenants; one tenant sending half of them,
 * in its one partition; the same with that tenant in `hotTenants` (spread over every partition).
 */
async function hotTenantRuns(base: DemoEvent[]): Promise<void> {
  const even = base.map((e, i) => ({ ...e, subject: `tenant-${i % 100}` }));
  const skewed = base.map((e, i) => ({ ...e, subject: i % 2 === 0 ? 'hot' : `tenant-${(i >> 1) % 99}` }));
  const cases: [string, DemoEvent[], string[]][] = [
    ['even traffic, 100 tenants', even, []],
    ['one tenant 50 %, its own partition', skewed, []],
    ['one tenant 50 %, hotTenants: spread', skewed, ['hot']],
  ];
  const lines: string[] = [];
  for (const [k, [label, events, hotTenants]] of cases.entries()) {
    console.log(`\n${label}`);
    const r = await endToEnd(events, e2eOptions(`${run}h${k}`, hotTenants));
    const total = r.perPartition.reduce((a, b) => a + b, 0);
    const busiest = Math.max(...r.perPartition) / total;
    const us = (sec: number) => ((sec * 1e6) / events.length).toFixed(1);
    lines.push(`${label.padEnd(38)} ${fmt(r.rate).padStart(8)} ev/s   lag p50 ${fmt(r.lagP50).padStart(7)} ms  p99 ${fmt(r.lagP99).padStart(7)} ms   busiest partition ${(busiest * 100).toFixed(0)} % of events   API ${us(r.cpu.api)} + workers ${us(r.cpu.workers)} µs/event`);
  }
  console.log(`\nhot tenant (${fmt(N)} events, ${args.workers} workers, ${args.partitions} partitions, same run):`);
  for (const l of lines) console.log(`  ${l}`);
}

console.log(
  `bench:distributed — ${fmt(N)} demo events, HTTP batches of ${args.batch}, ${args.clients} clients, ${args.apis} API node(s), ${args.workers} worker(s), ${args.partitions} partitions, ` +
    `inserts of ≤ ${args['worker-batch']}, ${METERS.length} meters; node ${process.version}`,
);
const e2eOptions = (id: string, hotTenants: string[] = []): EndToEndOptions => {
  runs.push(id);
  return {
    run: id,
    meters: METERS,
    clients: Number(args.clients),
    batch: Number(args.batch),
    apis: Number(args.apis),
    workers: Number(args.workers),
    partitions: Number(args.partitions),
    workerBatch: Number(args['worker-batch']),
    hotTenants,
  };
};

try {
  const events = makeEvents();
  if (args.hot) await hotTenantRuns(events);
  else await ceilingRun(events);
} finally {
  for (const r of runs) await cleanup(r);
}

/** The default run: the raw-insert ceiling, then the pipeline end to end, with CPU per role. */
async function ceilingRun(events: DemoEvent[]): Promise<void> {
  const { rate: raw, chCpu } = await rawInsertRate(events);
  console.log(`  raw ClickHouse JSONEachRow insert: ${fmt(raw)} ev/s (ClickHouse ${chCpu.toFixed(1)} CPU-s)`);
  const { rate: rawRb, chCpu: chCpuRb } = await rawInsertRate(events, true);
  console.log(`  raw ClickHouse RowBinary insert:   ${fmt(rawRb)} ev/s (ClickHouse ${chCpuRb.toFixed(1)} CPU-s)`);
  const e2e = await endToEnd(events, e2eOptions(run));
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
}
