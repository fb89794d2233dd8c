/**
 * bench:alerts — the traffic anomaly rules evaluated on generated series: 4 weeks of seasonal
 * traffic (hour of day, day of week, noise, slow growth) for 50 tenants, with drops, silences
 * and spikes injected at known times into some tenants and none into the others. The series are
 * stored as events in DuckDB and the rules read the rollups through the query layer, as the
 * alerts-evaluate job does; alerts come from the real lifecycle (dedupe, cooldown). Printed:
 * precision, recall and time to detection per kind, alerts on the clean tenants, and the same
 * figures for a non-seasonal peer (the same statistic over the previous hours instead of the same
 * hour of past weeks), run on the same data in the same run.
 *
 *   npm run bench:alerts [-- --tenants 50 --step 10 --seed 7]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Presets, SingleBar } from 'cli-progress';
import { DuckDbAlertStore } from '../src/alerts/duckdb/duckdb-alert-store.ts';
import { applyFindings } from '../src/alerts/lifecycle.ts';
import { AlertRepos } from '../src/alerts/repos.ts';
import { ruleInputSchema, type Rule } from '../src/alerts/rule.ts';
import { memoQueries, type SourceContext } from '../src/alerts/sources/context.ts';
import { trafficSource } from '../src/alerts/sources/traffic.ts';
import type { EventRecord } from '../src/events/event.ts';
import { MeterRegistry } from '../src/meters/registry.ts';
import { PlanCatalog } from '../src/quota/catalog.ts';
import { MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE } from '../src/shared/time.ts';
import { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { deriveRollups } from '../src/usage/derive-rollups.ts';
import { QueryService } from '../src/usage/query-service.ts';

const { values: args } = parseArgs({ options: { tenants: { type: 'string', default: '50' }, step: { type: 'string', default: '10' }, seed: { type: 'string', default: '7' }, verbose: { type: 'boolean', default: false }, 'no-peer': { type: 'boolean', default: false } } });
const TENANTS = Number(args.tenants);
const STEP = Number(args.step) * MICROS_PER_MINUTE;
const SLOT = 10 * MICROS_PER_MINUTE;
const DAYS = 28;

// A seeded PRNG (mulberry32) and a normal deviate: the same series for the same seed.
let state = Number(args.seed) >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

type Kind = 'drop' | 'silence' | 'spike';
interface Injection { tenant: string; kind: Kind; start: number; end: number }
interface Profile { base: number; shift: number; weekend: number; growth: number }

const END = Math.floor(Date.now() / (MICROS_PER_HOUR / 1000)) * MICROS_PER_HOUR - MICROS_PER_HOUR;
const START = END - DAYS * MICROS_PER_DAY;
// The last week is evaluated: its baseline is the 3 weeks before (at least 3 are needed).
const EVAL_FROM = START + 21 * MICROS_PER_DAY;

const profiles = new Map<string, Profile>();
const tenants = Array.from({ length: TENANTS }, (_, i) => `t${String(i).padStart(2, '0')}`);
for (const t of tenants) profiles.set(t, { base: 15 + rand() * 300, shift: Math.floor(rand() * 9), weekend: rand() < 0.3 ? 1 : 0.35 + rand() * 0.3, growth: rand() * 0.15 });

/** Expected events per 10-minute slot: a daytime curve in the tenant's own hours, weekends lower, slow growth. */
function expected(t: string, at: number): number {
  const p = profiles.get(t)!;
  const d = new Date(at / 1000);
  const h = (d.getUTCHours() + d.getUTCMinutes() / 60 + p.shift) % 24;
  const daytime = h >= 6 && h <= 21 ? Math.sin((Math.PI * (h - 6)) / 15) : 0;
  const dow = (d.getUTCDay() + (h < p.shift ? 6 : 0)) % 7;
  const week = dow === 0 || dow === 6 ? p.weekend : 1;
  return p.base * (0.08 + 0.92 * daytime) * week * (1 + (p.growth * (at - START)) / (DAYS * MICROS_PER_DAY));
}

// Injections: a third of the tenants each of drop, silence, spike, up to 30; the rest clean.
const injections: Injection[] = [];
const kinds: Kind[] = ['drop', 'silence', 'spike'];
const shuffled = [...tenants].sort(() => rand() - 0.5);
const injected = Math.min(30, Math.floor((TENANTS * 3) / 5));
for (let i = 0; i < injected; i++) {
  const kind = kinds[i % 3]!;
  const hours = kind === 'drop' ? 4 : 3;
  // Starts at a slot where the tenant is normally active (a drop at 3 a.m. in a quiet tenant is not an outage).
  let start: number;
  do start = EVAL_FROM + MICROS_PER_DAY / 2 + Math.floor(rand() * (6 * 144 - 36)) * SLOT;
  while (expected(shuffled[i]!, start) < 0.5 * profiles.get(shuffled[i]!)!.base);
  injections.push({ tenant: shuffled[i]!, kind, start, end: start + hours * MICROS_PER_HOUR });
}
const clean = tenants.filter((t) => !injections.some((x) => x.tenant === t));

function count(t: string, at: number): number {
  const mean = expected(t, at);
  let v = Math.max(0, Math.round(mean * (1 + 0.1 * gauss()) + Math.sqrt(mean) * gauss()));
  const inj = injections.find((x) => x.tenant === t && at >= x.start && at < x.end);
  if (inj?.kind === 'drop') v = Math.round(v * 0.15);
  if (inj?.kind === 'silence') v = 0;
  if (inj?.kind === 'spike') v = Math.round(v * 4);
  return v;
}

const meters = new MeterRegistry([{ slug: 'requests', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.n', groupBy: {} }]);
const dir = mkdtempSync(join(tmpdir(), 'tally-bench-alerts-'));
const store = await DuckDbStore.open({ path: join(dir, 'a.duckdb'), derive: (e, into) => deriveRollups(e, (t) => meters.forType(t), ['minute'], into) });
const slots = DAYS * 144;
console.log(`bench:alerts — ${TENANTS} tenants × ${DAYS} days of 10-minute traffic (${injections.length} injected: ${kinds.map((k) => `${injections.filter((x) => x.kind === k).length} ${k}s`).join(', ')}; ${clean.length} clean), evaluated every ${args.step} min over the last 7 days; seed ${args.seed}`);
const bar = new SingleBar({ format: '  store  [{bar}] {percentage}% {value}/{total} slots', hideCursor: true }, Presets.shades_classic);
bar.start(slots, 0);
let n = 0;
for (let s = 0; s < slots; s += 144) {
  const batch: EventRecord[] = [];
  for (let k = s; k < Math.min(slots, s + 144); k++) {
    const at = START + k * SLOT;
    for (const t of tenants) {
      const v = count(t, at);
      if (v === 0) continue; // no events at all in a silent slot
      const data = { n: v };
      batch.push({ tenant: t, id: `e${n++}`, type: 'api.request', source: 'bench', time: at + 1, actor: null, data, dataJson: JSON.stringify(data), contentHash: String(n) });
    }
  }
  await store.append(batch);
  bar.update(Math.min(slots, s + 144));
}
bar.stop();
await store.compactNow();

const rule = (kind: Rule['kind'], windowMinutes: number): Rule => ({ ...ruleInputSchema.parse({ id: kind, kind, meter: 'requests', anomaly: { windowMinutes } }), id: kind, createdAt: new Date(START / 1000).toISOString(), updatedAt: '', source: 'config' });
const rules = [rule('traffic-drop', 60), rule('traffic-silence', 30), rule('traffic-spike', 60)];
const matches: Record<string, Kind[]> = { 'traffic-drop': ['drop', 'silence'], 'traffic-silence': ['silence'], 'traffic-spike': ['spike'] };
const primary: Record<Kind, string> = { drop: 'traffic-drop', silence: 'traffic-silence', spike: 'traffic-spike' };

interface Fired { rule: string; tenant: string; at: number; details: Record<string, unknown> }

/** Runs the rules at every step over the evaluation fortnight through the real lifecycle; returns every alert opened. */
async function evaluate(label: string, ctx: SourceContext, shiftWeeks: boolean): Promise<{ fired: Fired[]; ms: number }> {
  const repos = new AlertRepos(await DuckDbAlertStore.open(await (await DuckDBInstance.create(':memory:')).connect()));
  const steps = Math.floor((END - EVAL_FROM) / STEP);
  const b = new SingleBar({ format: `  ${label.padEnd(9)}[{bar}] {percentage}% {value}/{total} evaluations`, hideCursor: true }, Presets.shades_classic);
  b.start(steps, 0);
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    const now = EVAL_FROM + i * STEP;
    const run = { ...ctx, queries: memoQueries(ctx.queries) };
    for (const r of rules) {
      const findings = shiftWeeks ? await trafficSource(r, run, now) : await previousHours(r, run, now);
      await applyFindings(repos, r, findings, [], now, async () => undefined);
    }
    b.update(i);
  }
  b.stop();
  const ms = performance.now() - t0;
  const all = await repos.alerts({ limit: 10_000 });
  await repos.store.close();
  return { fired: all.map((a) => ({ rule: a.rule, tenant: a.tenant, at: a.firedAt, details: a.details })), ms };
}

/**
 * The non-seasonal peer: the same median/MAD test with the baseline taken from the previous
 * hours (the windows of the last 4 hours before this one) instead of the same hour of past
 * weeks — what a detector without seasonality sees.
 */
async function previousHours(r: Rule, ctx: SourceContext, now: number) {
  const hour = MICROS_PER_HOUR;
  const shifted: SourceContext = { ...ctx, queries: { query: (q) => {
    const weeks = Math.round((now - q.to!) / (7 * MICROS_PER_DAY));
    const back = weeks * Math.max(r.anomaly.windowMinutes * MICROS_PER_MINUTE, hour);
    return ctx.queries.query({ ...q, from: (q.from ?? 0) + weeks * 7 * MICROS_PER_DAY - back, to: q.to! + weeks * 7 * MICROS_PER_DAY - back });
  } } };
  return trafficSource(r, shifted, now);
}

const ctx: SourceContext = { store, queries: new QueryService(store, meters, { nowMicros: () => END }), catalog: PlanCatalog.compile({ plans: [], tenants: [] }, meters).catalog, tenants };

function score(fired: Fired[]) {
  const lines: string[] = [];
  const window = (r: string) => rules.find((x) => x.id === r)!.anomaly.windowMinutes * MICROS_PER_MINUTE;
  const isTrue = (f: Fired) => injections.some((x) => x.tenant === f.tenant && matches[f.rule]!.includes(x.kind) && f.at >= x.start && f.at <= x.end + window(f.rule) + STEP);
  for (const r of rules) {
    const mine = fired.filter((f) => f.rule === r.id);
    const tp = mine.filter(isTrue).length;
    const kind = (Object.keys(primary) as Kind[]).find((k) => primary[k] === r.id)!;
    const targets = injections.filter((x) => x.kind === kind);
    const ttd: number[] = [];
    for (const x of targets) {
      const first = mine.filter((f) => f.tenant === x.tenant && f.at >= x.start && f.at <= x.end + window(r.id) + STEP).sort((a, b) => a.at - b.at)[0];
      if (first) ttd.push((first.at - x.start) / MICROS_PER_MINUTE);
    }
    ttd.sort((a, b) => a - b);
    const med = ttd.length === 0 ? NaN : ttd.length % 2 ? ttd[ttd.length >> 1]! : (ttd[ttd.length / 2 - 1]! + ttd[ttd.length / 2]!) / 2;
    lines.push(`  ${r.id.padEnd(16)} alerts ${String(mine.length).padStart(4)}  true ${String(tp).padStart(3)}  precision ${pct(tp, mine.length)}  recall ${pct(ttd.length, targets.length)} (${ttd.length}/${targets.length} ${kind}s)  median time to detection ${Number.isNaN(med) ? '—' : `${med} min`}`);
  }
  const onClean = fired.filter((f) => clean.includes(f.tenant)).length;
  if (args.verbose) for (const f of fired.filter((x) => !isTrue(x))) lines.push(`    false: ${f.rule} ${f.tenant} ${new Date(f.at / 1000).toISOString()} ${JSON.stringify(f.details)}`);
  const tp = fired.filter(isTrue).length;
  lines.push(`  all rules        alerts ${String(fired.length).padStart(4)}  true ${String(tp).padStart(3)}  precision ${pct(tp, fired.length)}  alerts on the ${clean.length} clean tenants: ${onClean}`);
  return { lines, precision: fired.length === 0 ? 1 : tp / fired.length, onClean };
}
function pct(a: number, b: number): string {
  return b === 0 ? '   —  ' : `${((100 * a) / b).toFixed(1).padStart(5)} %`;
}

const seasonal = await evaluate('seasonal', ctx, true);
const s = score(seasonal.fired);
console.log(`\nseasonal baseline (same hour of day and day of week over the 3 past weeks; median/MAD, k = 4, change ≥ 50 %; ${(seasonal.ms / 1000).toFixed(1)} s):`);
for (const l of s.lines) console.log(l);
if (!args['no-peer']) {
  const peer = await evaluate('peer', ctx, false);
  const p = score(peer.fired);
  console.log(`\nnon-seasonal peer (same test, baseline = the preceding hours; ${(peer.ms / 1000).toFixed(1)} s):`);
  for (const l of p.lines) console.log(l);
  const falseS = seasonal.fired.length - Math.round(s.precision * seasonal.fired.length);
  const falseP = peer.fired.length - Math.round(p.precision * peer.fired.length);
  console.log(`\nfalse alerts: seasonal ${falseS} vs non-seasonal peer ${falseP}${falseS > 0 ? ` (${(falseP / falseS).toFixed(1)}×)` : ''}; alerts on clean tenants: ${s.onClean} vs ${p.onClean}`);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
