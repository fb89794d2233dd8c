import { DuckDBInstance } from '@duckdb/node-api';
import { serviceAvailable } from '@tally/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../store/clickhouse/testing.ts';
import { startTestServer } from '../testing.ts';
import { fixedClock } from '../../test/helpers.ts';
import type { Alert } from './alert.ts';
import { ClickHouseAlertStore } from './clickhouse/clickhouse-alert-store.ts';
import type { Attempt, Message } from './delivery.ts';
import { DuckDbAlertStore } from './duckdb/duckdb-alert-store.ts';
import { AlertRepos } from './repos.ts';
import { alertsRetentionJob } from './retention-job.ts';
import type { AlertStore } from './store.ts';

const URL = 'http://127.0.0.1:8123';
const available = await serviceAvailable('ClickHouse', '127.0.0.1', 8123);
const databases: string[] = [];
afterAll(async () => {
  for (const d of databases) await dropDatabase(URL, d);
});

const DAY = 86_400_000_000;
const NOW = Date.parse('2026-12-03T04:20:00Z') * 1000;
const alert = (id: string, state: Alert['state'], daysAgo: number): Alert => ({ id, rule: 'r', kind: 'quota', subject: id, tenant: 'acme', state, summary: id, details: {}, firedAt: NOW - daysAgo * DAY, updatedAt: NOW - daysAgo * DAY, resolvedAt: null, lastNotifiedAt: null, notifications: 0, acknowledgedAt: null, acknowledgedBy: null, silencedUntil: null });
const message = (id: string, state: string, daysAgo: number) => ({ id, tenant: 'acme', state, createdAt: NOW - daysAgo * DAY, nextAttemptAt: NOW - daysAgo * DAY, endpoint: 'ep_1' }) as unknown as Message;
const attempt = (id: string, daysAgo: number) => ({ id, message: 'msg_old', ok: true, at: NOW - daysAgo * DAY }) as unknown as Attempt;

/** The alerts-retention job on both alert stores: old history goes, firing alerts and pending messages stay. */
async function check(store: AlertStore): Promise<void> {
  const repos = new AlertRepos(store);
  try {
    for (const a of [alert('al_resolved_old', 'resolved', 40), alert('al_event_old', 'event', 31), alert('al_firing_old', 'firing', 60), alert('al_resolved_new', 'resolved', 29)]) await repos.saveAlert(a);
    for (const m of [message('msg_old', 'delivered', 45), message('msg_dead_old', 'dead', 45), message('msg_pending_old', 'pending', 45), message('msg_new', 'delivered', 1)]) await repos.saveMessage(m);
    for (const a of [attempt('att_old', 45), attempt('att_new', 1)]) await repos.saveAttempt(a);
    const job = alertsRetentionJob(repos, 30, '20 4 * * *');
    const ctx = { key: 'alerts-retention:2026-12-03', range: job.rangeAt!(NOW), attempt: 1, now: NOW, assertHeld: async () => {} };
    expect(ctx.range).toBe('2026-12-03');
    expect(await job.run(ctx)).toEqual({ historyDays: 30, before: '2026-11-03T00:00:00.000Z', removed: { alerts: 2, messages: 2, attempts: 1 } });
    expect((await repos.alerts({ limit: 100 })).map((a) => a.id).sort()).toEqual(['al_firing_old', 'al_resolved_new']);
    expect((await repos.messages({ limit: 100 })).map((m) => m.id).sort()).toEqual(['msg_new', 'msg_pending_old']);
    expect((await repos.attempts({ limit: 100 })).map((a) => a.id)).toEqual(['att_new']);
    // A re-run of the day removes nothing more; historyDays 0 keeps everything.
    expect(await job.run(ctx)).toMatchObject({ removed: { alerts: 0, messages: 0, attempts: 0 } });
    expect(await alertsRetentionJob(repos, 0, '20 4 * * *').run({ ...ctx, now: NOW + 400 * DAY, range: '2027-12-01' })).toEqual({ historyDays: 0, removed: { alerts: 0, messages: 0, attempts: 0 } });
    expect(await repos.alerts({ limit: 100 })).toHaveLength(2);
  } finally {
    await store.close();
  }
}

describe('alert history retention', () => {
  it('DuckDB: removes resolved alerts and finished deliveries older than historyDays, keeps firing and pending', async () => {
    await check(await DuckDbAlertStore.open(await (await DuckDBInstance.create(':memory:')).connect()));
  });

  it.skipIf(!available)('ClickHouse: the same', async () => {
    const database = await createDatabase(URL, 'alerts_retention');
    databases.push(database);
    await check(await ClickHouseAlertStore.open({ url: URL, database }));
  });

  it('is a job of the runner with alerts.retention from config', async () => {
    const s = await startTestServer({ clock: fixedClock('2026-12-03T05:00:00Z'), config: { alerts: { retention: { historyDays: 7 } } } });
    try {
      const run = (await s.request('POST', '/v1/jobs/alerts-retention/run', { range: '2026-12-03' })).body.run;
      expect(run).toMatchObject({ status: 'succeeded', output: { historyDays: 7, before: '2026-11-26T00:00:00.000Z', removed: { alerts: 0, messages: 0, attempts: 0 } } });
    } finally {
      await s.close();
    }
  });
});
