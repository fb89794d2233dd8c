/**
 * bench:query — per-tenant daily usage for 30 days, answered from rollups (the query API's
 * path) vs a raw scan of the same events by DuckDB itself, on the same file in the same run.
 * Default: 10 M events over 30 days and 1,000 tenants, ingested through the store's full
 * write path (dedupe ledger, sequence, rollups), with two meters: a COUNT (the raw scan needs
 * no JSON) and an exact SUM of a decimal property (the raw scan must read it from `data`).
 * Prints both latencies and the ratio.
 *
 *   npm run bench:query [-- --events 10000000 --tenants 1000 --rounds 5] [--store FILE]
 *
 * `--meters calls` runs only the COUNT cases (the SUM raw scan parses JSON: minutes at 10 M).
 * `--store FILE` keeps the ingested store in FILE and reuses it when it already exists (the
 * 10 M-event ingest takes minutes): the file must have been made with the same --events and
 * --tenants, which the bench checks by counting the events.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Presets, SingleBar } from 'cli-progress';
import { cumulative, pick } from '../src/demo/generator.ts';
import type { EventRecord } from '../src/events/event.ts';
import { MeterRegistry } from '../src/meters/registry.ts';
import { MICROS_PER_DAY } from '../src/shared/time.ts';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../src/usage/derive-rollups.ts';
import { QueryService } from '../src/usage/query-service.ts';
import { fmt, median } from './support.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '10000000' }, tenants: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '20000' }, store: { type: 'string' }, meters: { type: 'string', default: 'calls,bytes' } } });
const N = Number(args.events);
const TENANTS = Number(args.tenants);
const ROUNDS = Number(args.rounds);
const BATCH = Number(args.batch);
const DAYS = 30;
const dir = args.store ? undefined : mkdtempSync(join(tmpdir(), 'tally-bench-query-'));
const path = args.store ?? join(dir!, 'bench.duckdb');
const reuse = args.store !== undefined && existsSync(args.store);
// A reused store keeps the days it was made with: its start day is kept in its meta table.
let START = Math.floor(Date.now() / 1000 / 86400 - DAYS) * MICROS_PER_DAY;
let END = START + DAYS * MICROS_PER_DAY;
const ROUTES = ['/v1/users/:id', '/v1/projects', '/v1/search', '/v1/files', '/v1/tasks/:id', '/v1/reports/:id', '/v1/events', '/v1/health'];

const registry = new MeterRegistry([
  { slug: 'calls', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: { route: '$.route' } },
]);
/** The store as the server opens it; `hotTier: false` answers every query with SQL. */
const open = (hotTier = true) => DuckDbStore.open({ path, derive: (e) => deriveRollups(e, (t) => registry.forType(t), ['minute']), ...(hotTier ? {} : { dayTotals: false as const }) });

/** Heavy-tailed tenant sizes: tenant k gets weight 1/(k+1). */
function tenantPicker(): () => string {
  const cdf = cumulative(Array.from({ length: TENANTS }, (_, k) => 1 / (k + 1)));
  let x = 12345;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return `tenant-${String(pick(cdf, x / 2 ** 32)).padStart(4, '0')}`;
  };
}

console.log(`bench:query — ${fmt(N)} events over ${DAYS} days and ${fmt(TENANTS)} tenants, node ${process.version}`);
if (reuse) {
  const store = await open();
  const stored = await store.countEvents();
  START = Number(await store.getMeta('bench.start'));
  END = START + DAYS * MICROS_PER_DAY;
  await store.close();
  if (stored !== BigInt(N) || !Number.isFinite(START)) throw new Error(`${path} holds ${stored} events (start ${START}); expected ${N}: remove it or pass matching --events`);
  console.log(`reusing ${path}`);
} else {
  const store = await open();
  const nextTenant = tenantPicker();
  const bar = new SingleBar({ format: 'ingest |{bar}| {percentage}% {value}/{total} events  {rate} ev/s  eta {eta_formatted}' }, Presets.shades_classic);
  const t0 = Date.now();
  bar.start(N, 0, { rate: 0 });
  for (let i = 0; i < N; i += BATCH) {
    const n = Math.min(BATCH, N - i);
    const events: EventRecord[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const j = i + k;
      const data = { route: ROUTES[j % ROUTES.length]!, bytes: `${(j * 7919) % 100_000}.${String(j % 1000).padStart(3, '0')}` };
      events[k] = { tenant: nextTenant(), id: `e${j}`, type: 'api.request', source: 'bench', time: START + Math.floor((j / N) * (END - START)), actor: null, data, dataJson: JSON.stringify(data), contentHash: String(j) };
    }
    await store.append(events);
    bar.update(i + n, { rate: fmt((i + n) / ((Date.now() - t0) / 1000)) });
  }
  bar.stop();
  await store.setMeta('bench.start', String(START));
  await store.compactNow();
  await store.close();
  console.log(`ingested and compacted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

type Answer = Map<string, string>;

/** DuckDB prints DECIMAL with trailing zeros; the API prints canonical decimals. */
function canonical(v: string): string {
  return v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v;
}

/**
 * From rollups, three ways: the whole query API path (QueryService: plan, store, exact decimal
 * strings, row objects), the store's answer alone (what the raw scan is compared to: per-tenant
 * day totals come from the in-memory hot tier), and the store with the hot tier off (SQL only).
 */
async function viaRollups(meter: 'calls' | 'bytes', tenant?: string): Promise<{ ms: number[]; storeMs: number[]; sqlMs: number[]; answer: Answer; sqlAnswer: Answer; resolution: string }> {
  const aq = { meter: registry.get(meter)!.series, from: START, to: END, windows: { kind: 'uniform' as const, origin: START, width: MICROS_PER_DAY, count: DAYS }, groupByTenant: true, groupDims: [], filters: [], aggregation: meter === 'calls' ? ('COUNT' as const) : ('SUM' as const), ...(tenant ? { tenants: [tenant] } : {}) };
  const store = await open();
  const queries = new QueryService(store, registry, { nowMicros: () => END });
  const ms: number[] = [];
  const storeMs: number[] = [];
  let answer: Answer = new Map();
  let resolution = '';
  for (let r = 0; r < ROUNDS + 1; r++) {
    let t0 = performance.now();
    const res = await queries.query({ meter, from: START, to: END, windowSize: 'DAY', groupBy: ['tenant'], ...(tenant ? { tenants: [tenant] } : {}) });
    if (r > 0) ms.push(performance.now() - t0);
    resolution = res.resolution;
    answer = new Map(res.data.map((d) => [`${d.tenant}|${d.windowStart}`, d.value!]));
    t0 = performance.now();
    await store.aggregate(aq, 'day');
    if (r > 0) storeMs.push(performance.now() - t0);
  }
  await store.close();
  const sqlStore = await open(false);
  const sqlQueries = new QueryService(sqlStore, registry, { nowMicros: () => END });
  const sqlMs: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = performance.now();
    await sqlStore.aggregate(aq, 'day');
    if (r > 0) sqlMs.push(performance.now() - t0);
  }
  const sqlRes = await sqlQueries.query({ meter, from: START, to: END, windowSize: 'DAY', groupBy: ['tenant'], ...(tenant ? { tenants: [tenant] } : {}) });
  await sqlStore.close();
  const sqlAnswer: Answer = new Map(sqlRes.data.map((d) => [`${d.tenant}|${d.windowStart}`, d.value!]));
  return { ms, storeMs, sqlMs, answer, sqlAnswer, resolution };
}

/** The engine's raw scan of the same events: GROUP BY tenant, day over `events`. */
async function viaRawScan(meter: 'calls' | 'bytes', tenant?: string): Promise<{ ms: number[]; answer: Answer }> {
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  const ms: number[] = [];
  let answer: Answer = new Map();
  const where = `type = 'api.request' AND time_us >= ${START} AND time_us < ${END}${tenant ? ` AND tenant = '${tenant}'` : ''}`;
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = performance.now();
    const value = meter === 'calls' ? 'count(*)::VARCHAR' : `sum(CAST(json_extract_string(data, '$.bytes') AS DECIMAL(38, 12)))::VARCHAR`;
    const rows = (await c.runAndReadAll(`SELECT tenant, (time_us // ${MICROS_PER_DAY}) * ${MICROS_PER_DAY} AS day, ${value} FROM events WHERE ${where} GROUP BY ALL`)).getRows();
    if (r > 0) ms.push(performance.now() - t0);
    answer = new Map(rows.map((x) => [`${x[0] as string}|${new Date(Number(x[1]) / 1000).toISOString()}`, canonical(x[2] as string)]));
  }
  c.closeSync();
  db.closeSync();
  return { ms, answer };
}

function same(a: Answer, b: Answer): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

const cases = [
  ['COUNT, all tenants, daily, 30 days', 'calls', undefined],
  ['COUNT, one tenant (portal), daily, 30 days', 'calls', 'tenant-0007'],
  ['SUM of $.bytes, all tenants, daily, 30 days', 'bytes', undefined],
  ['SUM of $.bytes, one tenant (portal), daily, 30 days', 'bytes', 'tenant-0007'],
] as const;
for (const [label, meter, tenant] of cases.filter(([, m]) => args.meters.split(',').includes(m))) {
  const rollup = await viaRollups(meter, tenant);
  const raw = await viaRawScan(meter, tenant);
  if (!same(rollup.answer, raw.answer)) throw new Error(`${label}: rollup and raw answers differ (${rollup.answer.size} vs ${raw.answer.size} cells)`);
  if (!same(rollup.sqlAnswer, raw.answer)) throw new Error(`${label}: SQL-only rollup and raw answers differ (${rollup.sqlAnswer.size} vs ${raw.answer.size} cells)`);
  const api = median(rollup.ms);
  const st = median(rollup.storeMs);
  const sql = median(rollup.sqlMs);
  const s = median(raw.ms);
  const line = (what: string, v: number, note = '') => console.log(`    ${what.padEnd(52)} ${v.toFixed(2).padStart(9)} ms${v === s ? '' : `   ${(s / v).toFixed(1)}× faster`}${note}`);
  console.log(`  ${label} — ${fmt(rollup.answer.size)} cells, answers equal (raw, hot tier, SQL)`);
  line('raw scan (DuckDB over events)', s);
  line(`rollups, store answer (${rollup.resolution}; in-memory hot tier)`, st, ' (target ≥ 20×)');
  line(`rollups, store answer with the hot tier off (SQL)`, sql);
  line('rollups, whole query API path (QueryService)', api);
}
if (dir) rmSync(dir, { recursive: true, force: true });
