/**
 * bench:ingest — HTTP ingest into the embedded server (batches of 1,000, several concurrent
 * clients, full pipeline: validation, actor HMAC, dedupe ledger, rollups for every meter of
 * tally.config.yaml, durable commit) against the engine's ceiling: DuckDB's appender writing
 * the same events into the same `events` table in the same run. Prints both rates and the ratio.
 *
 *   npm run bench:ingest [-- --events 200000 --clients 4 --batch 1000]
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DemoTraffic, type DemoEvent } from '../src/demo/generator.ts';
import { DDL, SETTINGS } from '../src/store/duckdb/schema.ts';
import { BENCH_KEY, cpuSeconds, fmt, freePort, median, post, startServerProcess, threadCpu, threadLine } from './support.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '200000' }, clients: { type: 'string', default: '4' }, batch: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(args.events);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);
const dir = mkdtempSync(join(tmpdir(), 'tally-bench-ingest-'));

function makeEvents(round: number): DemoEvent[] {
  const traffic = new DemoTraffic({ tenants: 100, seed: 1000 + round });
  const now = Date.now();
  return Array.from({ length: N }, (_, i) => ({ ...traffic.next(now - 3_600_000 + Math.floor((i / N) * 3_500_000)), id: `r${round}-e${i}` }));
}

/** The ceiling: DuckDB's appender, same table, same events, one commit per batch. */
async function appenderRate(events: DemoEvent[], file: string): Promise<{ rate: number; cpuUs: number }> {
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  for (const sql of [...SETTINGS, ...DDL]) await c.run(sql);
  let seq = 1n;
  const secret = 'bench-secret-0123456789abcdef';
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let b = 0; b < events.length; b += BATCH) {
    await c.run('BEGIN TRANSACTION');
    const ap = await c.createAppender('events');
    for (const e of events.slice(b, b + BATCH)) {
      const data = JSON.stringify(e.data);
      ap.appendVarchar(e.subject);
      ap.appendVarchar(e.id);
      ap.appendVarchar(e.type);
      ap.appendVarchar(e.source);
      ap.appendBigInt(BigInt(Date.parse(e.time)) * 1000n);
      ap.appendVarchar(createHmac('sha256', secret).update(e.actor).digest('hex'));
      ap.appendVarchar(data);
      ap.appendVarchar(createHash('sha256').update(data).digest('base64url'));
      ap.appendBigInt(BigInt(Date.now()) * 1000n);
      ap.appendBigInt(seq++);
      ap.endRow();
    }
    ap.closeSync();
    await c.run('COMMIT');
  }
  const rate = events.length / ((performance.now() - t0) / 1000);
  c.closeSync();
  db.closeSync(); // checkpoints, like the server's graceful close
  const cpu = process.cpuUsage(cpu0);
  return { rate, cpuUs: (cpu.user + cpu.system) / events.length };
}

/** Our server over HTTP: CLIENTS concurrent clients posting pre-serialised batches. */
async function httpRate(events: DemoEvent[], configFile: string): Promise<{ rate: number; accepted: number; cpuUs: number; threads: string }> {
  const cpuFile = `${configFile}.cpu.json`;
  const server = await startServerProcess(configFile, await freePort(), { TALLY_CPU_REPORT: cpuFile });
  const bodies: Buffer[] = [];
  for (let b = 0; b < events.length; b += BATCH) bodies.push(Buffer.from(JSON.stringify(events.slice(b, b + BATCH))));
  let accepted = 0;
  let next = 0;
  const cpu0 = cpuSeconds(server.child.pid) * 1e6; // after start-up
  const threads0 = threadCpu([server.child.pid]);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const res = await post(`${server.url}/v1/events`, bodies[i]!, { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/cloudevents-batch+json' });
        if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${res.text}`);
        accepted += (JSON.parse(res.text) as { accepted: number }).accepted;
      }
    }),
  );
  const rate = events.length / ((performance.now() - t0) / 1000);
  const client = process.cpuUsage(client0);
  const threads = `${threadLine(threads0, threadCpu([server.child.pid]), events.length)}; bench client ${((client.user + client.system) / events.length).toFixed(1)}`;
  await server.stop(); // graceful: flushes and compacts the rollups, so their cost is counted
  const used = JSON.parse(readFileSync(cpuFile, 'utf8')) as { user: number; system: number };
  const cpuUs = (used.user + used.system - cpu0) / events.length;
  return { rate, accepted, cpuUs, threads };
}

const baseConfig = parseYaml(readFileSync(join(import.meta.dirname, '../../../tally.config.yaml'), 'utf8')) as Record<string, unknown>;
const variants = [
  { name: `all ${(baseConfig.meters as unknown[]).length} meters of tally.config.yaml`, meters: baseConfig.meters },
  { name: 'one COUNT meter', meters: [{ slug: 'calls', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } }] },
];

console.log(`bench:ingest — ${fmt(N)} demo events per run, batches of ${BATCH}, ${CLIENTS} concurrent HTTP clients, ${ROUNDS} rounds (median), node ${process.version}`);
const results: string[] = [];
for (const v of variants) {
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const ours: number[] = [];
  const ceiling: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const events = makeEvents(r);
    const runDir = join(dir, `${v.meters === baseConfig.meters ? 'all' : 'one'}-${r}`);
    const cfg = join(dir, `cfg-${r}.yaml`);
    writeFileSync(cfg, toYaml({ store: { dataDir: runDir }, ingest: { maxEventsPerRequest: BATCH }, meters: v.meters }));
    const a = await appenderRate(events, join(dir, `appender-${r}-${ratios.length}-${v.name.length}.duckdb`));
    const h = await httpRate(events, cfg);
    if (h.accepted !== N) throw new Error(`expected ${N} accepted, got ${h.accepted}`);
    ours.push(h.rate);
    ceiling.push(a.rate);
    ratios.push(h.rate / a.rate);
    cpuRatios.push(a.cpuUs / h.cpuUs);
    console.log(
      `  [${v.name}] round ${r + 1}: DuckDB appender ${fmt(a.rate)} ev/s (${a.cpuUs.toFixed(1)} CPU µs/ev) · Tally HTTP ${fmt(h.rate)} ev/s (${h.cpuUs.toFixed(1)} CPU µs/ev) · rate ratio ${(h.rate / a.rate).toFixed(2)}`,
    );
    if (process.env.TALLY_BENCH_THREADS) console.log(`    server threads while ingesting (user+sys µs/event): ${h.threads}`
    );
  }
  results.push(
    `${v.name.padEnd(36)} appender ${fmt(median(ceiling)).padStart(9)} ev/s   Tally HTTP ${fmt(median(ours)).padStart(9)} ev/s   rate ratio ${median(ratios).toFixed(2)}× (target ≥ 0.5)   CPU-per-event ratio ${median(cpuRatios).toFixed(2)}×`,
  );
}
console.log('\nmedians (the CPU-per-event ratio is appender CPU ÷ server CPU per event: what the rate ratio would be on an otherwise idle machine):');
for (const r of results) console.log(`  ${r}`);
rmSync(dir, { recursive: true, force: true });
