/**
 * bench:archive — the archive job's write of one ingest day (events and corrections as Parquet,
 * ordered, SHA-256 of each file, rows and time range read back) and a replay of that archive
 * into a fresh store (verify, read, append, rollups derived), each against DuckDB's own
 * `COPY (SELECT … FROM events) TO '….parquet'` of the same raw table, in the same run. The
 * replay is an ingest (it derives every rollup again), so it is also set against the store's
 * own ingest of the same events; reading the archive alone is printed beside it.
 *
 *   npm run bench:archive [-- --events 1000000 --tenants 1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { writePartition } from '../src/audit/archive/archive-writer.ts';
import { DuckDbArchiveSource } from '../src/audit/archive/duckdb-source.ts';
import { replayIntoStore } from '../src/audit/archive/replay-store.ts';
import { readArchive } from '../src/audit/archive/replay.ts';
import type { EventRecord } from '../src/events/event.ts';
import type { MeterDefinition } from '../src/meters/meter.ts';
import { MeterRegistry } from '../src/meters/registry.ts';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../src/usage/derive-rollups.ts';
import { fmt } from './support.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, tenants: { type: 'string', default: '1000' }, batch: { type: 'string', default: '20000' } } });
const N = Number(args.events);
const TENANTS = Number(args.tenants);
const DAY = '2026-11-30';
const DAY_US = Date.parse(`${DAY}T00:00:00Z`) * 1000;
const START = DAY_US - 30 * 86_400_000_000; // a month of event times, all ingested that day
const METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: {} },
  { slug: 'tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
];
const ROUTES = ['/v1/users/:id', '/v1/projects', '/v1/search', '/v1/files', '/v1/tasks/:id'];

function event(i: number): EventRecord {
  const api = i % 3 !== 0;
  const data = api ? { route: ROUTES[i % ROUTES.length], bytes: (i % 5000) + 100, status: i % 50 === 0 ? 500 : 200 } : { model: ['gpt-4', 'small'][i % 2], tokens: (i % 3000) + 10 };
  return { tenant: `t${(i * 7919) % TENANTS}`, id: `e${i}`, type: api ? 'api.request' : 'llm.completion', source: 'bench', time: START + Math.floor((((i * 104729) % 1_000_003) / 1_000_003) * (DAY_US - START)), actor: null, data, dataJson: JSON.stringify(data), contentHash: String(i) };
}

const dir = mkdtempSync(join(tmpdir(), 'tally-bench-archive-'));
const registry = new MeterRegistry(METERS);
const store = await DuckDbStore.open({ path: join(dir, 'source.duckdb'), derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into), nowMicros: () => DAY_US + 3_600_000_000 });
try {
  console.log(`bench:archive — ${fmt(N)} raw events (a month of event times, ingested on ${DAY}), ${fmt(TENANTS)} tenants, ${METERS.length} meters; DuckDB, one process`);
  const bar = new SingleBar({ format: '  ingest [{bar}] {percentage}% {value}/{total} events', hideCursor: true }, Presets.shades_classic);
  bar.start(N, 0);
  const ingestStart = performance.now();
  for (let i = 0; i < N; i += Number(args.batch)) {
    await store.append(Array.from({ length: Math.min(Number(args.batch), N - i) }, (_, k) => event(i + k)));
    bar.update(Math.min(N, i + Number(args.batch)));
  }
  await store.compactNow();
  bar.stop();
  const ingestMs = performance.now() - ingestStart;
  const conn = await store.connect();

  // 1. DuckDB's own Parquet COPY of the same rows: the engine's ceiling (run before and after
  // the archive write, the faster counted, so neither side gets the other's warm cache for free).
  const copy = async () => {
    const t = performance.now();
    await conn.run(`COPY (SELECT tenant, id, type, source, time_us, actor, data, content_hash, ingested_us FROM events WHERE ingested_us >= ${DAY_US} AND ingested_us < ${DAY_US + 86_400_000_000}) TO '${join(dir, 'copy.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
    return performance.now() - t;
  };
  let copyMs = await copy();
  let t0 = 0;

  // 2. The archive job's write: both files, ordered, hashed, read back, manifest.
  const source = new DuckDbArchiveSource(conn);
  t0 = performance.now();
  const { manifest } = await writePartition(source, join(dir, 'archive'), DAY, DAY_US + 2 * 86_400_000_000);
  const archiveMs = performance.now() - t0;

  // 3a. Reading the archive back (verify, then decode every row into events), without a store.
  t0 = performance.now();
  let read = 0;
  for await (const page of readArchive(join(dir, 'archive'), START, DAY_US)) read += page.length;
  const readMs = performance.now() - t0;
  if (read !== N) throw new Error(`read ${read} events, expected ${N}`);
  if (manifest.rows !== N) throw new Error(`archived ${manifest.rows} rows, expected ${N}`);
  copyMs = Math.min(copyMs, await copy());

  // 3b. Replay the archive into a fresh store (verify, read, append, rollups).
  t0 = performance.now();
  const r = await replayIntoStore(join(dir, 'archive'), START, DAY_US, join(dir, 'replayed'), METERS);
  await (r.store as DuckDbStore).compactNow();
  const replayMs = performance.now() - t0;
  if (r.accepted !== N) throw new Error(`replayed ${r.accepted} events, expected ${N}`);
  await r.close();
  await source.close();

  const rate = (ms: number) => N / (ms / 1000);
  const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
  console.log(`  ingest through the store (for scale)  ${(ingestMs / 1000).toFixed(2)} s   ${fmt(Math.round(rate(ingestMs)))} events/s`);
  console.log(`  DuckDB COPY … TO parquet (ceiling)   ${(copyMs / 1000).toFixed(2)} s   ${fmt(Math.round(rate(copyMs)))} events/s`);
  console.log(`  archive write (job)                  ${(archiveMs / 1000).toFixed(2)} s   ${fmt(Math.round(rate(archiveMs)))} events/s   ${(rate(archiveMs) / rate(copyMs)).toFixed(2)}× the COPY   ${fmt(Math.round(bytes / 1024))} KiB, ${(bytes / N).toFixed(1)} B/event`);
  console.log(`  archive read (verify + decode)       ${(readMs / 1000).toFixed(2)} s   ${fmt(Math.round(rate(readMs)))} events/s   ${(rate(readMs) / rate(copyMs)).toFixed(2)}× the COPY`);
  console.log(`  replay into a fresh store            ${(replayMs / 1000).toFixed(2)} s   ${fmt(Math.round(rate(replayMs)))} events/s   ${(rate(replayMs) / rate(copyMs)).toFixed(2)}× the COPY, ${(rate(replayMs) / rate(ingestMs)).toFixed(2)}× the store's own ingest`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
