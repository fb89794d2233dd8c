/**
 * bench:billing — the invoice run (every tenant's draft from the exact rollups, as the job does
 * it) vs a plain SQL recomputation of the same per-tenant sums over the raw table by DuckDB
 * itself, on the same file in the same run; then the raw-event check every draft passes before
 * finalization (timed apart, with the ratio of both together); and the upcoming invoice's
 * latency for one tenant (the portal path, served from rollups).
 *
 *   npm run bench:billing [-- --events 1000000 --tenants 1000 --upcoming 200]
 *
 * The full size is 10 M events (`--events 10000000`: the ingest alone takes minutes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { DuckDbInvoiceRepo } from '../src/billing/duckdb/duckdb-invoice-repo.ts';
import { InvoiceIssuer } from '../src/billing/issue.ts';
import { PlanTimeline } from '../src/billing/plan-timeline.ts';
import { UpcomingInvoices } from '../src/billing/upcoming.ts';
import { configSchema } from '../src/config/schema.ts';
import type { EventRecord } from '../src/events/event.ts';
import { MeterRegistry } from '../src/meters/registry.ts';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../src/usage/derive-rollups.ts';
import { QueryService } from '../src/usage/query-service.ts';
import { fmt } from './support.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, tenants: { type: 'string', default: '1000' }, upcoming: { type: 'string', default: '200' }, batch: { type: 'string', default: '20000' } } });
const N = Number(args.events);
const TENANTS = Number(args.tenants);
const now = new Date();
const START = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1) * 1000; // last month
const END = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) * 1000;
const ROUTES = ['/v1/users/:id', '/v1/projects', '/v1/search', '/v1/files', '/v1/tasks/:id'];
const MODELS = ['gpt-4', 'small', 'tiny'];

const METERS = [
  { slug: 'calls', eventType: 'api.request', aggregation: 'COUNT', groupBy: {} },
  { slug: 'calls_by_route', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route' } },
  { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: {} },
  { slug: 'ms', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.ms', groupBy: {} },
  { slug: 'errors', eventType: 'api.request', aggregation: 'COUNT', groupBy: { status: '$.status' } },
  { slug: 'completions', eventType: 'llm.completion', aggregation: 'COUNT', groupBy: {} },
  { slug: 'tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.tokens', groupBy: { model: '$.model' } },
  { slug: 'cost', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.cost', groupBy: {} },
  { slug: 'input', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.input', groupBy: {} },
  { slug: 'output', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.output', groupBy: {} },
];
const PRICES = [
  { name: 'Base', model: 'flat', amount: '49.00' },
  { meter: 'calls', model: 'graduated', tiers: [{ upTo: 1000, unitPrice: '0' }, { unitPrice: '0.001' }] },
  { meter: 'calls_by_route', model: 'unit', unitPrice: '0.0005', filter: { route: '/v1/search' } },
  { meter: 'bytes', model: 'volume', tiers: [{ upTo: 1000000000, unitPrice: '0.0000001' }, { unitPrice: '0.00000005' }] },
  { meter: 'ms', model: 'unit', unitPrice: '0.000001' },
  { meter: 'errors', model: 'unit', unitPrice: '0.01', filter: { status: '500' } },
  { meter: 'completions', model: 'unit', unitPrice: '0.002' },
  { meter: 'tokens', model: 'package', packageSize: 1000, packagePrice: '0.002', filter: { model: 'gpt-4' } },
  { meter: 'cost', model: 'unit', unitPrice: '1.2' },
  { meter: 'input', model: 'unit', unitPrice: '0.0000005' },
  { meter: 'output', model: 'unit', unitPrice: '0.0000015' },
];
const config = configSchema.parse({ meters: METERS, plans: [{ id: 'p', currency: 'USD', prices: PRICES }], tenants: Array.from({ length: TENANTS }, (_, i) => ({ id: `t${i}`, plan: 'p' })) });
const registry = new MeterRegistry(config.meters);
const dir = mkdtempSync(join(tmpdir(), 'tally-bench-billing-'));
const store = await DuckDbStore.open({ path: join(dir, 'b.duckdb'), derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into) });

function event(i: number): EventRecord {
  const tenant = `t${(i * 7919) % TENANTS}`;
  const time = START + Math.floor(((i * 104729) % 1_000_003) / 1_000_003 * (END - START));
  const api = i % 3 !== 0;
  const data = api ? { route: ROUTES[i % ROUTES.length], bytes: (i % 5000) + 100, ms: ((i % 900) + 5) / 10, status: i % 50 === 0 ? 500 : 200 } : { model: MODELS[i % 3], tokens: (i % 3000) + 10, cost: `0.00${i % 97}`, input: i % 2000, output: i % 1000 };
  const dataJson = JSON.stringify(data);
  return { tenant, id: `e${i}`, type: api ? 'api.request' : 'llm.completion', source: 'bench', time, actor: null, data, dataJson, contentHash: String(i) };
}

console.log(`bench:billing — ${fmt(N)} events over last month (${new Date(START / 1000).toISOString().slice(0, 7)}), ${fmt(TENANTS)} tenants, ${METERS.length} meters, ${PRICES.length} prices; DuckDB, one process`);
const bar = new SingleBar({ format: '  ingest [{bar}] {percentage}% {value}/{total} events', hideCursor: true }, Presets.shades_classic);
bar.start(N, 0);
for (let i = 0; i < N; i += Number(args.batch)) {
  await store.append(Array.from({ length: Math.min(Number(args.batch), N - i) }, (_, k) => event(i + k)));
  bar.update(Math.min(N, i + Number(args.batch)));
}
bar.stop();
await store.compactNow();

const clock = { nowMicros: () => END + 2 * 3_600_000_000 };
const queries = new QueryService(store, registry, clock);
const timeline = new PlanTimeline(config);
const repo = await DuckDbInvoiceRepo.open(await store.connect());
const issuer = new InvoiceIssuer({ store, meters: registry, queries, timeline, repo, policy: { graceMicros: 3_600_000_000, backfillDays: 35 } });

// 1. The invoice run, as the job does it: every tenant's draft from the rollups.
let t0 = performance.now();
const drafts = await issuer.draftMany(issuer.duePeriods(clock.nowMicros()), clock.nowMicros());
const invoiceMs = performance.now() - t0;
// 1b. The check before finalization: every draft's usage recomputed from the raw events.
t0 = performance.now();
let blocked = 0;
for (const inv of await issuer.verify(drafts)) if (!inv.reconciled) blocked++;
const verifyMs = performance.now() - t0;

// 2. A plain SQL recomputation of the same per-tenant sums over the raw table (no pricing).
const conn = await store.connect();
t0 = performance.now();
const j = (path: string) => `CAST(json_extract_string(data, '${path}') AS DECIMAL(38, 12))`;
await conn.runAndReadAll(`SELECT tenant, count(*), count(*) FILTER (WHERE json_extract_string(data, '$.route') = '/v1/search'), sum(${j('$.bytes')}), sum(${j('$.ms')}), count(*) FILTER (WHERE json_extract_string(data, '$.status') = '500') FROM events WHERE type = 'api.request' AND time_us >= ${START} AND time_us < ${END} GROUP BY tenant`);
await conn.runAndReadAll(`SELECT tenant, count(*), sum(${j('$.tokens')}) FILTER (WHERE json_extract_string(data, '$.model') = 'gpt-4'), sum(${j('$.cost')}), sum(${j('$.input')}), sum(${j('$.output')}) FROM events WHERE type = 'llm.completion' AND time_us >= ${START} AND time_us < ${END} GROUP BY tenant`);
const sqlMs = performance.now() - t0;
conn.closeSync();

// 3. The upcoming invoice of one tenant (rollups), asked repeatedly inside the period.
const inside = { nowMicros: () => END - 86_400_000_000 };
const upcoming = new UpcomingInvoices(timeline, new QueryService(store, registry, inside), inside);
const lat: number[] = [];
for (let i = 0; i < Number(args.upcoming); i++) {
  const s = performance.now();
  await upcoming.upcoming('t1');
  lat.push(performance.now() - s);
}
lat.sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;

console.log(`  invoice run (drafts from the rollups)                 ${fmt(Math.round(invoiceMs))} ms for ${fmt(drafts.length)} invoices (${(invoiceMs / drafts.length).toFixed(2)} ms each)`);
console.log(`  plain SQL recomputation of the same sums (raw table)  ${fmt(Math.round(sqlMs))} ms`);
console.log(`  ratio (SQL time / invoice run time)                   ${(sqlMs / invoiceMs).toFixed(2)}× (target ≥ 5×)`);
console.log(`  raw check before finalization (JS meter evaluation)   ${fmt(Math.round(verifyMs))} ms, ${blocked} blocked; run + check: ${(sqlMs / (invoiceMs + verifyMs)).toFixed(2)}× the SQL`);
console.log(`  upcoming invoice, one tenant (${lat.length} asks)           p50 ${pct(0.5).toFixed(2)} ms · p99 ${pct(0.99).toFixed(2)} ms · max ${lat.at(-1)!.toFixed(2)} ms`);
await repo.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
