import http from 'node:http';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors/registry.ts';
import type { MeterDefinition } from '../src/meters/meter.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { codeOf, describeRequest, judge, preview, send, type FuzzAnswer } from './fuzz-client.ts';
import { generate, type FuzzContext, type FuzzRequest } from './fuzz-gen.ts';
import { TEST_METERS } from './helpers.ts';
import { QUOTA_CONFIG, QUOTA_METERS } from './quota-setup.ts';

/*
 * Black-box fuzzer against a real server: TALLY_FUZZ_REQUESTS (default 10,000) generated requests
 * over ingest (single, batch, gzip), Segment batches, meter queries (GET and POST), keys, meters
 * and quota endpoints, plus malformed HTTP, sent 8 at a time. It asserts: no answer ≥ 500, every
 * non-2xx answer in the registry envelope, the server alive all along (/healthz, /readyz), and
 * the control tenants' totals (COUNT and SUM meters, exact decimal strings) the same before and
 * after, with ingest for them still working.
 *
 * Request i depends only on the seed and i. Reproduce a run: TALLY_FUZZ_SEED=<seed>; replay
 * requests alone: TALLY_FUZZ_SEED=<seed> TALLY_FUZZ_ONLY=<i>,<j> (on a fresh server, so state
 * built by earlier requests, e.g. an id already stored, is not there).
 */

const SEED = process.env.TALLY_FUZZ_SEED ? Number(process.env.TALLY_FUZZ_SEED) >>> 0 : randomInt(2 ** 32);
const ONLY = process.env.TALLY_FUZZ_ONLY?.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 0);
const REQUESTS = ONLY?.length ? ONLY.length : Number(process.env.TALLY_FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 8;
const TIMEOUT_MS = 20_000;
const REPLAY = `TALLY_FUZZ_SEED=${SEED} npx vitest run packages/server/test/fuzz.test.ts`;

const METERS: MeterDefinition[] = [
  ...TEST_METERS,
  ...QUOTA_METERS,
  { slug: 'orders', eventType: 'Order Completed', aggregation: 'COUNT', groupBy: {} },
  { slug: 'order_total', eventType: 'Order Completed', aggregation: 'SUM', valueProperty: '$.total', groupBy: {} },
];

/** Only the control batch writes these; the fuzzer sends near misses (a lone surrogate instead of U+FFFD, a NUL appended…). */
const CONTROL_TENANTS = ['fuzz-control', 'fuzz-ctl-\ufffd'];
const PORTAL_TENANT = 'fz-portal';
const CONFIG = {
  // The fuzzer's CONCURRENCY requests stay within the overload limits: it tests input handling;
  // refusals under load (503 OVERLOADED) are test/overload.test.ts's business.
  server: { host: '127.0.0.1', port: 0, logLevel: 'silent', maxInflightIngest: 64, maxInflightBytes: 128 * 1024 * 1024 },
  plans: QUOTA_CONFIG.plans,
  tenants: [...QUOTA_CONFIG.tenants, ...CONTROL_TENANTS.map((id) => ({ id, plan: 'free' })), { id: PORTAL_TENANT, plan: 'soft' }],
};

/** The control tenants' events and what each COUNT and SUM meter must answer for each of them. */
const CONTROL_EVENTS: { type: string; data: Record<string, unknown>; hoursAgo: number }[] = [
  { type: 'api.request', data: { route: '/ctl/a', method: 'GET', bytes: '0.000000000001', ms: 1 }, hoursAgo: 1 },
  { type: 'api.request', data: { route: '/ctl/a', method: 'POST', bytes: '12345678901234.123456789012', ms: 2 }, hoursAgo: 2 },
  { type: 'api.request', data: { route: '/ctl/b', method: 'GET', bytes: 7, ms: 3 }, hoursAgo: 3 },
  { type: 'api.request', data: { route: '/ctl/b', method: 'GET', bytes: '0.5', ms: 4 }, hoursAgo: 26 },
  { type: 'api.request', data: { route: '/ctl/a', method: 'GET', bytes: 0.25, ms: 5 }, hoursAgo: 50 },
  { type: 'api.request', data: { route: '/ctl/c', method: 'DELETE', bytes: 1024, ms: 6 }, hoursAgo: 1 },
  { type: 'llm.completion', data: { model: 'm1', usage: { tokens: '1.5' } }, hoursAgo: 1 },
  { type: 'llm.completion', data: { model: 'm2', usage: { tokens: 2 } }, hoursAgo: 5 },
  { type: 'llm.completion', data: { model: 'm1', usage: { tokens: '0.000000000003' } }, hoursAgo: 30 },
  { type: 'api.call', data: { ms: 5 }, hoursAgo: 1 },
  { type: 'api.call', data: { ms: 7 }, hoursAgo: 2 },
  { type: 'Order Completed', data: { total: '19.99' }, hoursAgo: 3 },
  { type: 'Order Completed', data: { total: '0.01' }, hoursAgo: 4 },
];
const EXPECTED: Record<string, string> = { requests: '6', bytes: '12345678902265.873456789013', completions: '3', tokens: '3.500000000003', calls: '2', orders: '2', order_total: '20' };
const BREAKDOWNS = [
  ['requests', ['route', 'method']],
  ['bytes', ['route']],
  ['tokens', ['model']],
] as const;

let s: TestServer;
let ctx: FuzzContext;
let range: { from: string; to: string };
let before: Record<string, string> | undefined;
let breakdownBefore: string | undefined;
let after: Record<string, string> | undefined;
let tokenNames: Map<string, string>;

const stats = { sent: 0, classes: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 } as Record<string, number>, clientRefused: 0, failing: 0, ms: 0, healthMaxMs: 0, healthProbes: 0 };
/** Status classes per kind of request, e.g. `events/batch` → { '2xx': 812, '4xx': 1960 }. */
const byKind = new Map<string, Record<string, number>>();
const healthProblems: string[] = [];
let ran = false;

async function ingestControl(t: string, events: typeof CONTROL_EVENTS, idPrefix: string) {
  const now = Date.now();
  const batch = events.map((e, i) => ({ specversion: '1.0', id: `${idPrefix}-${i}`, source: 'control', type: e.type, subject: t, time: new Date(now - e.hoursAgo * 3_600_000).toISOString(), data: e.data }));
  return s.request('POST', '/v1/events', batch, { token: ctx.tokens.ingest });
}

/** Every COUNT and SUM total of every control tenant, as the API answers it. */
async function controlTotals(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of CONTROL_TENANTS) {
    for (const meter of Object.keys(EXPECTED)) {
      const r = await s.request('POST', `/v1/meters/${meter}/query`, { tenant: [t], ...range });
      out[`${JSON.stringify(t)}/${meter}`] = r.status === 200 ? ((r.body.data as { value: string }[])[0]?.value ?? '0') : `HTTP ${r.status} ${r.text.slice(0, 200)}`;
    }
  }
  return out;
}

/** The control tenants' rows by dimension (JSON), to catch moved as well as changed usage. */
async function controlBreakdown(): Promise<string> {
  const rows: unknown[] = [];
  for (const [meter, groupBy] of BREAKDOWNS) {
    const r = await s.request('POST', `/v1/meters/${meter}/query`, { tenant: CONTROL_TENANTS, groupBy: [...groupBy, 'tenant'], ...range });
    rows.push(r.status === 200 ? [meter, r.body.data] : [meter, r.status, r.text.slice(0, 200)]);
  }
  return JSON.stringify(rows);
}

const compact = (totals: Record<string, string> | undefined) => (totals ? Object.entries(totals).map(([k, v]) => `${k}=${v}`).join(' ') : 'n/a');

beforeAll(async () => {
  console.log(`[fuzz] TALLY_FUZZ_SEED=${SEED} requests=${REQUESTS}${ONLY?.length ? ` only=${ONLY.join(',')}` : ''} concurrency=${CONCURRENCY} (reproduce: ${REPLAY})`);
  s = await startTestServer({ meters: METERS, config: CONFIG });
  const key = async (name: string, scopes: string[], tenant?: string) => {
    const r = await s.request('POST', '/v1/keys', { name, scopes, ...(tenant ? { tenant } : {}) });
    expect(r.status, r.text).toBe(201);
    return r.body as { id: string; token: string };
  };
  const ingest = await key('fuzz-ingest', ['ingest']);
  const read = await key('fuzz-read', ['read']);
  const portal = await key('fuzz-portal', ['read'], PORTAL_TENANT);
  const revoked = await key('fuzz-revoked', ['admin']);
  expect((await s.request('DELETE', `/v1/keys/${revoked.id}`)).status).toBe(204);
  const victim = await key('fuzz-victim', ['read']);
  const now = Date.now();
  range = { from: new Date(now - 10 * 86_400_000).toISOString(), to: new Date(now + 86_400_000).toISOString() };
  ctx = {
    nowMs: now,
    tokens: { admin: s.adminToken, ingest: ingest.token, read: read.token, portal: portal.token, revoked: revoked.token },
    portalTenant: PORTAL_TENANT,
    victimKeyId: victim.id,
    controlTenants: CONTROL_TENANTS,
    planTenants: QUOTA_CONFIG.tenants.map((t) => t.id).concat(PORTAL_TENANT),
    meters: METERS.map((m) => m.slug),
    dimensions: ['route', 'method', 'model'],
    meterDimensions: Object.fromEntries(METERS.map((m) => [m.slug, Object.keys(m.groupBy)])),
  };
  tokenNames = new Map(Object.entries(ctx.tokens).map(([name, tok]) => [tok, `<${name} key>`]));
  for (const t of CONTROL_TENANTS) {
    const r = await ingestControl(t, CONTROL_EVENTS, 'control');
    expect(r.status, `seed ${SEED}: control batch for ${JSON.stringify(t)}: ${r.text}`).toBe(200);
    expect(r.body.accepted, `seed ${SEED}: control batch for ${JSON.stringify(t)}: ${r.text}`).toBe(CONTROL_EVENTS.length);
  }
  before = await controlTotals();
  breakdownBefore = await controlBreakdown();
  const expected = Object.fromEntries(CONTROL_TENANTS.flatMap((t) => Object.entries(EXPECTED).map(([m, v]) => [`${JSON.stringify(t)}/${m}`, v])));
  expect(before, `seed ${SEED}: the control totals right after the control batch`).toEqual(expected);
}, 60_000);

afterAll(async () => {
  const c = stats.classes;
  console.log(
    `[fuzz] seed=${SEED} requests=${stats.sent} 2xx=${c['2xx']} 3xx=${c['3xx']} 4xx=${c['4xx']} 5xx=${c['5xx']} no-answer=${c.none} client-refused=${stats.clientRefused} failing=${stats.failing} ` +
      `duration=${(stats.ms / 1000).toFixed(1)}s healthz-probes=${stats.healthProbes} healthz-max=${stats.healthMaxMs}ms control-before=[${compact(before)}] control-after=[${compact(after)}]`,
  );
  const kinds = [...byKind].sort(([a], [b]) => a.localeCompare(b)).map(([kind, k]) => `${kind} ${Object.entries(k).sort().map(([c, n]) => `${c}=${n}`).join('/')}`);
  console.log(`[fuzz] seed=${SEED} by kind: ${kinds.join(', ')}`);
  await s?.close();
});

/** Failing answers grouped by kind of request and kind of failure; the smallest example of each is kept. */
interface Failure {
  count: number;
  firstOrder: number;
  smallest: { req: FuzzRequest; answer: FuzzAnswer; problem: string; size: number };
}

function signature(req: FuzzRequest, a: FuzzAnswer, problem: string): string {
  const code = codeOf(a);
  let detail = '';
  if (a.error) detail = a.error.replace(/\d+/g, 'N').slice(0, 60);
  else if (a.status >= 500 || !code) {
    const msg = code ? ((JSON.parse(a.body.toString('utf8')) as { error: { message?: string } }).error.message ?? '') : a.body.toString('utf8');
    detail = msg.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 60);
  }
  return `${req.kind.split('+')[0]} → ${a.status || 'none'} ${code ?? '(no envelope)'} ${detail} | ${problem.replace(/\d+/g, 'N')}`;
}

function render(key: string, f: Failure): string {
  const { req, answer, problem } = f.smallest;
  return [
    `${f.count}× ${key}`,
    `  e.g. request #${req.index} [${req.kind}] (replay: TALLY_FUZZ_SEED=${SEED} TALLY_FUZZ_ONLY=${req.index}): ${problem}`,
    `    ${describeRequest(req, tokenNames)}`,
    `    → ${answer.status || 'no answer'} ${preview(answer.body.toString('utf8'), 400)}`,
  ].join('\n');
}

describe(`black-box fuzz (seed ${SEED})`, () => {
  it(`answers ${REQUESTS} generated requests without 5xx, every error in the registry envelope`, async () => {
    const failures = new Map<string, Failure>();
    const base = new URL(s.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const started = performance.now();
    let next = 0;
    let order = 0;
    let running = true;
    let wake = () => {};
    // A server that stopped answering fails the run at once rather than after every request's timeout.
    let silentInARow = 0;
    let stopped: string | undefined;
    const probe = (async () => {
      while (running) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000);
        });
        if (!running) break;
        const t0 = performance.now();
        const a = await send(base, agent, { index: -1, kind: 'probe', method: 'GET', path: '/healthz', headers: {} }, TIMEOUT_MS);
        const ms = Math.round(performance.now() - t0);
        stats.healthProbes++;
        stats.healthMaxMs = Math.max(stats.healthMaxMs, ms);
        if (a.status !== 200) healthProblems.push(`/healthz during the run after ${stats.sent} requests: ${a.status || a.error} ${a.body.toString('utf8').slice(0, 200)}`);
      }
    })();
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= REQUESTS || stopped) return;
        const index = ONLY?.length ? ONLY[i]! : i;
        let req: FuzzRequest;
        try {
          req = generate(SEED, index, ctx);
        } catch (err) {
          throw new Error(`seed ${SEED}: generating request #${index} failed (a fuzzer bug): ${(err as Error).stack}`);
        }
        const a = await send(base, agent, req, TIMEOUT_MS);
        stats.sent++;
        if (a.clientRefused) stats.clientRefused++;
        const cls = a.error || a.clientRefused ? 'none' : `${Math.floor(a.status / 100)}xx`;
        stats.classes[cls]! += 1;
        const kind = req.kind.split('+')[0]!;
        const k = byKind.get(kind) ?? {};
        k[cls] = (k[cls] ?? 0) + 1;
        byKind.set(kind, k);
        silentInARow = a.error ? silentInARow + 1 : 0;
        if (silentInARow >= 2 * CONCURRENCY) stopped ??= `the server stopped answering: ${silentInARow} requests in a row got no answer (the last: ${a.error}); the run was stopped after ${stats.sent} requests`;
        const problem = judge(a, ERROR_CODES);
        if (!problem) continue;
        stats.failing++;
        const key = signature(req, a, problem);
        const size = (req.body?.length ?? 0) + (req.raw?.length ?? 0) + req.path.length;
        const f = failures.get(key);
        if (!f) failures.set(key, { count: 1, firstOrder: order++, smallest: { req, answer: a, problem, size } });
        else {
          f.count++;
          if (size < f.smallest.size) f.smallest = { req, answer: a, problem, size };
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      running = false;
      wake();
      await probe;
      agent.destroy();
      stats.ms = performance.now() - started;
      ran = true;
    }
    const list = [...failures].sort((a, b) => a[1].firstOrder - b[1].firstOrder);
    const report = list.slice(0, 60).map(([k, f]) => render(k, f));
    if (list.length > 60) report.push(`… and ${list.length - 60} more kinds`);
    if (stopped) report.unshift(stopped);
    expect(stats.clientRefused, `seed ${SEED}: requests the client library refused (a generator bug)`).toBe(0);
    const header = `seed ${SEED}: ${stats.failing} of ${stats.sent} answers failed (${stats.classes['5xx']} with status ≥ 500, ${stats.classes.none} without an answer), ${list.length} kinds, first seen first (${REPLAY})`;
    expect(report.length, `${header}\n\n${report.join('\n\n')}\n\n`).toBe(0);
  }, 180_000);

  it('stays alive: /healthz answered all along, /healthz and /readyz answer 200 after', async () => {
    expect(ran, 'the run did not happen').toBe(true);
    const health = await s.request('GET', '/healthz');
    const ready = await s.request('GET', '/readyz');
    const problems = [...healthProblems];
    if (health.status !== 200) problems.push(`/healthz after the run: ${health.status} ${health.text.slice(0, 300)}`);
    if (ready.status !== 200) problems.push(`/readyz after the run: ${ready.status} ${ready.text.slice(0, 300)}`);
    expect(problems, `seed ${SEED} (${REPLAY})`).toEqual([]);
  });

  it('leaves the control tenants untouched, and still ingests for them', async () => {
    expect(ran, 'the run did not happen').toBe(true);
    after = await controlTotals();
    expect(after, `seed ${SEED}: control totals after the run (${REPLAY})`).toEqual(before);
    expect(await controlBreakdown(), `seed ${SEED}: control rows by dimension after the run (${REPLAY})`).toBe(breakdownBefore);
    // Ingest still works: one more event per control tenant counts exactly once.
    const probe = [{ type: 'api.request', data: { route: '/ctl/probe', method: 'GET', bytes: '0.000000000001', ms: 1 }, hoursAgo: 0 }];
    for (const t of CONTROL_TENANTS) {
      const r = await ingestControl(t, probe, `probe-${SEED}`);
      expect(`${r.status} accepted=${r.body?.accepted}`, `seed ${SEED}: control ingest after the run for ${JSON.stringify(t)}: ${r.text.slice(0, 500)}`).toBe('200 accepted=1');
    }
    const probed = await controlTotals();
    const want = { ...before };
    for (const t of CONTROL_TENANTS) {
      want[`${JSON.stringify(t)}/requests`] = '7';
      want[`${JSON.stringify(t)}/bytes`] = '12345678902265.873456789014';
    }
    expect(probed, `seed ${SEED}: control totals after one more event each (${REPLAY})`).toEqual(want);
  }, 60_000);
});
