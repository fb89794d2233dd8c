import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { MICROS_PER_MINUTE } from '../shared/time.ts';
import type { Alert, Finding } from './alert.ts';
import { DuckDbAlertStore } from './duckdb/duckdb-alert-store.ts';
import type { Endpoint } from './endpoint.ts';
import { applyFindings } from './lifecycle.ts';
import { derivedId, AlertRepos } from './repos.ts';
import { ruleInputSchema, type Rule } from './rule.ts';

const T0 = Date.parse('2026-12-01T12:00:00Z') * 1000;
const min = (n: number) => T0 + n * MICROS_PER_MINUTE;
const held = async () => undefined;
const endpoint: Endpoint = { id: 'ep_1', url: 'http://127.0.0.1:9/hook', type: 'webhook', description: null, tenant: null, kinds: [], enabled: true, secrets: [{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: 0, expiresAt: null }], createdAt: 0 };
const slack: Endpoint = { ...endpoint, id: 'ep_slack', type: 'slack' };
const rule = (over: Record<string, unknown> = {}): Rule => ({ ...ruleInputSchema.parse({ id: 'r', kind: 'traffic-drop', meter: 'calls', channels: ['ep_1', 'ep_slack'], cooldownMinutes: 30, ...over }), id: 'r', createdAt: '2026-12-01T00:00:00Z', updatedAt: '', source: 'api' });
const finding = (subject = 'acme/calls'): Finding => ({ subject, tenant: 'acme', summary: `${subject} dropped`, details: { observed: 1 } });

async function repos(): Promise<AlertRepos> {
  return new AlertRepos(await DuckDbAlertStore.open(await (await DuckDBInstance.create(':memory:')).connect()));
}
const types = async (r: AlertRepos) => (await r.messages({ order: 'asc', limit: 100 })).filter((m) => m.endpoint === 'ep_1').map((m) => m.type);

describe('alert lifecycle', () => {
  it('fires once per subject, resolves, reopens and re-resolves within the cooldown without messages, fires anew after it', async () => {
    const r = await repos();
    const eps = [endpoint, slack];
    expect(await applyFindings(r, rule(), [finding()], eps, min(0), held)).toMatchObject({ fired: 1, messages: 2 });
    expect(await applyFindings(r, rule(), [finding()], eps, min(1), held)).toMatchObject({ fired: 0, messages: 0 });
    expect(await applyFindings(r, rule(), [], eps, min(2), held)).toMatchObject({ resolved: 1, messages: 2 });
    expect(await applyFindings(r, rule(), [finding()], eps, min(10), held)).toMatchObject({ reopened: 1, fired: 0, messages: 0 });
    expect(await applyFindings(r, rule(), [], eps, min(11), held)).toMatchObject({ resolved: 1, messages: 0 });
    expect(await applyFindings(r, rule(), [finding()], eps, min(60), held)).toMatchObject({ fired: 1 });
    const alerts = await r.alerts({ limit: 10 });
    expect(alerts.map((a) => a.state).sort()).toEqual(['firing', 'resolved']);
    expect(await types(r)).toEqual(['alert.firing', 'alert.resolved', 'alert.firing']);
    const slackBody = JSON.parse((await r.messages({ ref: 'ep_slack', limit: 1, order: 'asc' }))[0]!.payload) as { text: string; blocks: unknown[] };
    expect(slackBody.text).toBe(':rotating_light: *alert.firing* acme/calls dropped');
    expect(slackBody.blocks).toHaveLength(2);
  });

  it('re-notifies every renotifyMinutes until acknowledged; a silenced alert sends nothing', async () => {
    const r = await repos();
    const ru = rule({ renotifyMinutes: 30 });
    await applyFindings(r, ru, [finding()], [endpoint], min(0), held);
    await applyFindings(r, ru, [finding()], [endpoint], min(29), held);
    await applyFindings(r, ru, [finding()], [endpoint], min(30), held);
    expect(await types(r)).toEqual(['alert.firing', 'alert.renotify']);
    const [a] = await r.alerts({ status: 'firing' });
    await r.saveAlert({ ...a!, acknowledgedAt: min(31) });
    await applyFindings(r, ru, [finding()], [endpoint], min(90), held);
    expect(await types(r)).toEqual(['alert.firing', 'alert.renotify']);
    await r.saveAlert({ ...(await r.alert(a!.id))!, silencedUntil: min(200) });
    await applyFindings(r, ru, [], [endpoint], min(100), held);
    expect(await types(r)).toEqual(['alert.firing', 'alert.renotify']);
    expect((await r.alert(a!.id))!.state).toBe('resolved');
  });

  it('a run that crashed after recording a notification completes it under the same message id, once', async () => {
    const r = await repos();
    const id = derivedId('alr', [rule().id, 'acme/calls', String(Math.floor(min(0) / MICROS_PER_MINUTE))]);
    const crashed = { id, rule: 'r', kind: 'traffic-drop', subject: 'acme/calls', tenant: 'acme', state: 'firing', summary: 's', details: {}, firedAt: min(0), updatedAt: min(0), resolvedAt: null, lastNotifiedAt: null, notifications: 0, acknowledgedAt: null, acknowledgedBy: null, silencedUntil: null, pending: 'alert.firing' } as Alert & { pending: string };
    await r.saveAlert(crashed);
    await applyFindings(r, rule(), [finding()], [endpoint], min(1), held);
    await applyFindings(r, rule(), [finding()], [endpoint], min(2), held);
    const msgs = await r.messages({ limit: 10 });
    expect(msgs.map((m) => m.id)).toEqual([derivedId('msg', [id, 'ep_1', 'alert.firing', '0'])]);
    expect(await r.alert(id)).toMatchObject({ notifications: 1, state: 'firing' });
    expect((await r.alerts({ limit: 10 })).length).toBe(1);
  });

  it('one-shot findings are event alerts, notified once', async () => {
    const r = await repos();
    const ru = rule({ kind: 'invoice-finalized', meter: undefined });
    const f = { ...finding('inv_1'), oneShot: true };
    expect(await applyFindings(r, ru, [f], [endpoint], min(0), held)).toMatchObject({ events: 1, messages: 1 });
    expect(await applyFindings(r, ru, [f], [endpoint], min(1), held)).toMatchObject({ events: 0, messages: 0 });
    expect(await applyFindings(r, ru, [], [endpoint], min(2), held)).toMatchObject({ resolved: 0 });
    expect(await types(r)).toEqual(['alert.event']);
  });
});
