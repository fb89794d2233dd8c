import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileMeter } from '../src/meters/meter.ts';
import type { DuckDbStore } from '../src/store/duckdb/duckdb-store.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { DEMO_METERS, demoEvents } from './audit-helpers.ts';
import { fixedClock } from './helpers.ts';

/**
 * #16 reconciliation on the embedded profile: a clean run over demo data has no discrepancy,
 * and each injected fault is found by its named rule with the exact difference.
 */
const clock = fixedClock('2026-05-01T23:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'tally-reconcile-'));
const DAY = '2026-05-01';
const TENANT_PLAN = { plans: [{ id: 'capped', entitlements: [{ meter: 'api_requests', period: 'month', limit: 1_000_000 }, { meter: 'llm_tokens', period: 'day', limit: '100000000' }] }] };
let s: TestServer;
let events: Record<string, unknown>[];
type Run = { discrepancies: number; rules: { rule: string; status: string; checked: number; discrepancies: number; results: { scope: Record<string, string>; expected: string; actual: string; difference: string }[] }[] };
const reconcile = async (body: Record<string, unknown> = {}): Promise<Run> => {
  const r = await s.request('POST', '/v1/reconcile', { day: DAY, ...body });
  expect(r.status).toBe(200);
  return r.body as Run;
};
const ruleOf = (run: Run, name: string) => run.rules.find((r) => r.rule === name)!;
const bad = (run: Run) => run.rules.filter((r) => r.status !== 'ok').map((r) => r.rule);

beforeAll(async () => {
  events = demoEvents(3000, Date.parse(`${DAY}T00:00:00Z`), Date.parse(`${DAY}T22:00:00Z`), 5);
  const tenants = [...new Set(events.map((e) => String(e.subject)))];
  s = await startTestServer({ meters: DEMO_METERS, clock, config: { ...TENANT_PLAN, tenants: tenants.map((id) => ({ id, plan: 'capped' })), audit: { archiveDir: join(dir, 'archive') } } });
  for (let i = 0; i < events.length; i += 1000) expect((await s.request('POST', '/v1/events', events.slice(i, i + 1000))).body.accepted).toBe(1000);
  // A correction, so the clean run covers them too.
  expect((await s.request('POST', `/v1/events/${String(events[7]!.subject)}/${String(events[7]!.id)}/void`, { reason: 'test' })).status).toBe(201);
  clock.set('2026-05-02T00:20:00Z');
  expect((await s.request('POST', '/v1/jobs/archive/run', { range: DAY })).body.run.status).toBe('succeeded');
}, 120_000);
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reconciliation (embedded)', () => {
  it('a clean run over demo data: every rule ok, none errored, the checks not empty', async () => {
    const run = await reconcile();
    expect(bad(run)).toEqual([]);
    expect(run.discrepancies).toBe(0);
    for (const r of ['rollups.minute-vs-raw', 'rollups.hour-vs-raw', 'rollups.day-vs-raw', 'live-counters.vs-rollups']) expect(ruleOf(run, r).checked).toBeGreaterThan(10);
    expect(ruleOf(run, 'archive.manifest-vs-raw').checked).toBe(2);
    const latest = (await s.request('GET', '/v1/reconciliation')).body.rules as { rule: string; status: string }[];
    expect(latest.map((r) => [r.rule, r.status])).toContainEqual(['rollups.hour-vs-raw', 'ok']);
    expect(await fetch(`${s.url}/metrics`).then((r) => r.text())).toMatch(/tally_reconciliation_discrepancies\{rule="rollups.hour-vs-raw"\} 0/);
  });

  it('the live-counter rule covers default-plan tenants, one result per entitlement on the same meter', async () => {
    const d = await startTestServer({
      meters: DEMO_METERS,
      clock: fixedClock(`${DAY}T12:00:00Z`),
      config: { plans: [{ id: 'walkin', entitlements: [{ id: 'calls-day', meter: 'api_requests', period: 'day', limit: 1000 }, { id: 'calls-month', meter: 'api_requests', period: 'month', limit: 10000 }] }], quotas: { defaultPlan: 'walkin' } },
    });
    try {
      // A tenant the config does not list: on the default plan.
      const evs = demoEvents(40, Date.parse(`${DAY}T08:00:00Z`), Date.parse(`${DAY}T11:00:00Z`), 3, 1).map((e) => ({ ...e, subject: 'unlisted' }));
      expect((await d.request('POST', '/v1/events', evs)).body.accepted).toBe(40);
      const calls = evs.filter((e) => (e as { type?: unknown }).type === 'api.request').length;
      const run = (await d.request('POST', '/v1/reconcile', { day: DAY, rules: ['live-counters.vs-rollups'] })).body as Run;
      const live = ruleOf(run, 'live-counters.vs-rollups');
      // Both entitlements of the one (unlisted) tenant were compared, and agree (results list
      // only discrepancies). Before, only tenants the config lists were checked: 0.
      expect(calls).toBeGreaterThan(0);
      expect([live.status, live.checked, live.discrepancies]).toEqual(['ok', 2, 0]);
      const ents = (await d.request('GET', '/v1/tenants/unlisted/entitlements')).body.data as { id: string; usage: string }[];
      expect(ents.map((e) => [e.id, e.usage]).sort()).toEqual([
        ['calls-day', String(calls)],
        ['calls-month', String(calls)],
      ]);
    } finally {
      await d.close();
    }
  });

  it('a rollup row altered in the store: the hour rule names meter, tenant and the exact difference; minute and day stay ok', async () => {
    const store = s.store as DuckDbStore;
    await store.compactNow();
    const series = compileMeter(DEMO_METERS.find((m) => m.slug === 'api_requests')!).series;
    const tenant = String(events[0]!.subject);
    const conn = await store.connect();
    await conn.run(`UPDATE rollups_hour_total SET cnt = cnt + 3 WHERE rowid = (SELECT min(rowid) FROM rollups_hour_total WHERE meter = '${series}' AND tenant = '${tenant}')`);
    const run = await reconcile({ rules: ['rollups.minute-vs-raw', 'rollups.hour-vs-raw', 'rollups.day-vs-raw'] });
    expect(bad(run)).toEqual(['rollups.hour-vs-raw']);
    expect(ruleOf(run, 'rollups.hour-vs-raw').results.map((r) => [r.scope.meter, r.scope.tenant, r.difference])).toEqual([['api_requests', tenant, '3']]);
    await conn.run(`UPDATE rollups_hour_total SET cnt = cnt - 3 WHERE rowid = (SELECT min(rowid) FROM rollups_hour_total WHERE meter = '${series}' AND tenant = '${tenant}')`);
    conn.closeSync();
  });

  it('a raw event deleted behind Tally\'s back: every resolution reports one event more in the rollups than raw, per meter it fed', async () => {
    const e = events.find((x) => x.type === 'llm.completion')!;
    const conn = await (s.store as DuckDbStore).connect();
    await conn.run(`DELETE FROM events WHERE tenant = '${String(e.subject)}' AND id = '${String(e.id)}'`);
    conn.closeSync();
    const run = await reconcile();
    expect(bad(run)).toEqual(['rollups.minute-vs-raw', 'rollups.hour-vs-raw', 'rollups.day-vs-raw', 'archive.manifest-vs-raw']);
    const tokens = String((e.data as { tokens: number }).tokens);
    for (const res of ['minute', 'hour', 'day']) {
      expect(ruleOf(run, `rollups.${res}-vs-raw`).results.map((r) => [r.scope.meter, r.scope.tenant, r.expected, r.actual, r.difference]).filter((r) => r[0] === 'llm_tokens')).toEqual([['llm_tokens', String(e.subject), expect.any(String), expect.any(String), tokens]]);
    }
    // The archive still holds it: its manifest now counts one event more than the raw table.
    expect(ruleOf(run, 'archive.manifest-vs-raw').results.map((r) => [r.scope.file, r.expected, r.actual, r.difference])).toEqual([['events.parquet', '2999', '3000', '1']]);
  });

  it('an archive file changed or removed: the archive rule says which, with the manifest value', async () => {
    writeFileSync(join(dir, 'archive', `date=${DAY}`, 'events.parquet'), 'changed');
    rmSync(join(dir, 'archive', `date=${DAY}`, 'corrections.parquet'));
    const run = await reconcile({ rules: ['archive.manifest-vs-raw'] });
    expect(ruleOf(run, 'archive.manifest-vs-raw').results.map((r) => [r.scope.file, r.scope.problem ?? 'count', r.difference])).toEqual([
      ['events.parquet', 'sha256 differs', 'sha256 differs'],
      ['events.parquet', 'unreadable', 'unreadable'],
      ['corrections.parquet', 'file missing', '-1'],
      ['events.parquet', 'count', '1'],
    ]);
  });

  it('an access log with 5 requests Tally never saw: the access-log rule finds exactly 5 (nginx combined and JSON)', async () => {
    const reqs = events.filter((e) => e.type === 'api.request' && String(e.time) >= `${DAY}T10:00` && String(e.time) < `${DAY}T11:00`);
    const nginxTime = (iso: string) => {
      const d = new Date(iso);
      const mon = d.toLocaleString('en', { month: 'short', timeZone: 'UTC' });
      return `${String(d.getUTCDate()).padStart(2, '0')}/${mon}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000`;
    };
    const line = (e: { time: string; method: string; status: number }) => `10.0.0.1 - - [${nginxTime(e.time)}] "${e.method} /x HTTP/1.1" ${e.status} 512 "-" "curl/8"`;
    const logged = reqs.map((e) => ({ time: String(e.time), method: String((e.data as { method: string }).method), status: Number((e.data as { status: number }).status) }));
    const unseen = Array.from({ length: 5 }, (_, i) => ({ time: `${DAY}T10:30:0${i}Z`, method: 'GET', status: 200 }));
    const file = join(dir, 'access.log');
    writeFileSync(file, [...logged, ...unseen].map(line).join('\n') + '\n');
    const { summariseAccessLog } = await import('../src/audit/reconcile/access-log.ts');
    const { readFileSync } = await import('node:fs');
    const combined = summariseAccessLog('access.log', 'combined', readFileSync(file, 'utf8').split('\n'));
    const run = await reconcile({ accessLog: combined });
    const r = ruleOf(run, 'cross-source.access-log-vs-events');
    expect(run.rules.map((x) => x.rule)).toEqual(['cross-source.access-log-vs-events']);
    expect(r.results.map((x) => [x.scope.method ?? 'all', x.scope.statusClass ?? 'all', x.expected, x.actual, x.difference])).toEqual([
      ['all', 'all', String(reqs.length + 5), String(reqs.length), '-5'],
      ['GET', '2xx', expect.any(String), expect.any(String), '-5'],
    ]);
    const json = summariseAccessLog('access.json', 'json', [...logged, ...unseen].map((e) => JSON.stringify({ time_iso8601: e.time.replace('Z', '+00:00'), request: `${e.method} /x HTTP/1.1`, status: String(e.status) })));
    expect(ruleOf(await reconcile({ accessLog: json }), 'cross-source.access-log-vs-events').results[0]!.difference).toBe('-5');
    // Without the 5: ok.
    const clean = summariseAccessLog('clean.log', 'combined', logged.map(line));
    expect(ruleOf(await reconcile({ accessLog: clean }), 'cross-source.access-log-vs-events').status).toBe('ok');
  });

  it('SDK heartbeats claiming more than was stored: the SDK rule reports the excess', async () => {
    const at = (s: number) => new Date(Date.parse(`${DAY}T12:00:00Z`) + s * 1000).toISOString();
    const beat = (seq: number, from: number, to: number, accepted: number) => ({ specversion: '1.0', id: `hb-${seq}`, source: 'sdk-eu-1', type: 'tally.client.stats', subject: 'ops', time: at(to), data: { instance: 'i1', seq, from: at(from), to: at(to), sent: accepted, accepted } });
    const metricsBefore = (await s.request('GET', '/v1/reconciliation')).body.rules.length as number;
    // The first heartbeat reports 7 accepted events the store never got (nothing else came from sdk-eu-1).
    clock.set(at(120));
    expect((await s.request('POST', '/v1/events', [beat(0, 0, 60, 7), beat(1, 60, 120, 1)])).body.accepted).toBe(2);
    clock.set('2026-05-02T00:20:00Z');
    const run = await reconcile({ rules: ['cross-source.sdk-vs-stored'] });
    // Stored: heartbeat 0 (its acknowledgement is in heartbeat 1); claimed 7 + 1.
    expect(ruleOf(run, 'cross-source.sdk-vs-stored').results.map((r) => [r.scope.source, r.expected, r.actual, r.difference])).toEqual([['sdk-eu-1', '1', '8', '7']]);
    const latest = (await s.request('GET', '/v1/reconciliation')).body.rules as { rule: string; discrepancies: number }[];
    expect(latest.length).toBeGreaterThanOrEqual(metricsBefore);
    expect(latest.find((r) => r.rule === 'cross-source.sdk-vs-stored')!.discrepancies).toBe(1);
    expect(await fetch(`${s.url}/metrics`).then((r) => r.text())).toMatch(/tally_reconciliation_discrepancies\{rule="cross-source.sdk-vs-stored"\} 1/);
  });
});
