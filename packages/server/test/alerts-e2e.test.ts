import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './distributed-helpers.ts';
import { waitFor, WebhookReceiver, type Received } from './webhook-receiver.ts';

/**
 * Alerts end to end against a real HTTP receiver that verifies every request with the
 * `standardwebhooks` package: quota 80 % and 100 % fire one alert each; a receiver answering 500
 * gets retries under the same webhook-id until it recovers; a server SIGKILLed with deliveries
 * pending delivers them after its restart, none lost, duplicates only under the same id.
 */
const KEY = 'tally_AlertsE2eKey_abcdefghijklmnopqrstuvwxyz012345';
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'tally-alerts-e2e-'));
const children: ChildProcess[] = [];
const receiver = new WebhookReceiver();
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API answers, checked by the assertions
type Json = Record<string, any>;
/** The alert a received notification carries. */
const alertOf = (r: Received) => r.payload!.data.alert as { tenant: string; details: { threshold: string } };

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', join(dir, 'tally.config.yaml'), '--port', String(port)], {
    env: { ...process.env, TALLY_ADMIN_KEY: KEY, TALLY_LOG_LEVEL: 'warn', TALLY_DATA_DIR: join(dir, 'data') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

describe('alerts end to end (embedded, real receiver, standardwebhooks)', () => {
  it('80 % and 100 % fire once each; 500s are retried under the same webhook-id; a SIGKILL loses no pending delivery', async () => {
    writeFileSync(
      join(dir, 'tally.config.yaml'),
      [
        `store: { dataDir: ${JSON.stringify(join(dir, 'data'))} }`,
        'meters:',
        '  - { slug: calls, eventType: call, aggregation: COUNT, groupBy: {} }',
        'plans:',
        '  - { id: free, entitlements: [ { meter: calls, period: month, limit: 10 } ] }',
        'tenants:',
        '  - { id: acme, plan: free }',
        '  - { id: globex, plan: free }',
        'alerts:',
        "  schedule: '* * * * * *'",
        '  delivery: { pollMs: 200, baseDelayMs: 300, maxDelayMs: 1500, maxAttempts: 100, timeoutMs: 2000 }',
      ].join('\n'),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await r.text();
      if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return (text ? JSON.parse(text) : {}) as Json;
    };
    let seq = 0;
    const calls = (tenant: string, n: number) => api('POST', '/v1/events', Array.from({ length: n }, () => ({ specversion: '1.0', id: `c${++seq}`, source: 'e2e', type: 'call', subject: tenant, time: new Date().toISOString(), data: {} })));

    let server = start(port);
    await waitFor('the server', () => fetch(`${url}/readyz`).then((r) => r.ok, () => false));
    const hook = await receiver.listen();
    const endpoint = await api('POST', '/v1/alerts/endpoints', { url: hook, description: 'e2e receiver' });
    receiver.secret = endpoint.secret as string;
    await api('POST', '/v1/alerts/rules', { id: 'quota-calls', name: 'calls quota', kind: 'quota', meter: 'calls', thresholds: ['80%', '100%'], channels: [endpoint.id] });

    // The test ping reaches the receiver and verifies.
    const ping = await api('POST', `/v1/alerts/endpoints/${endpoint.id}/test`);
    await waitFor('the ping', () => receiver.delivered().get(ping.id as string));

    // 8 of 10 → 80 %; a 9th call changes nothing.
    await calls('acme', 8);
    const firing80 = await waitFor('the 80 % alert', () => receiver.ofType('alert.firing').find((r) => alertOf(r).details.threshold === '80%'));
    await calls('acme', 1);

    // The receiver fails; the 10th call → 100 %: retried under one webhook-id, delivered once it recovers.
    receiver.status = 500;
    await calls('acme', 1);
    const failing = await waitFor('three failed attempts of one message', () => {
      const byId = new Map<string, Received[]>();
      for (const r of receiver.received.filter((x) => x.answered === 500)) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
      return [...byId.values()].find((rs) => rs.length >= 3);
    });
    const retriedId = failing[0]!.id;
    expect(new Set(failing.map((r) => r.body)).size).toBe(1);
    receiver.status = 200;
    const firing100 = await waitFor('the 100 % alert after recovery', () => receiver.delivered().get(retriedId));
    expect(alertOf(firing100).details.threshold).toBe('100%');
    // The receiver answered; the dispatcher records the result right after.
    const log = await waitFor('the delivery recorded', async () => {
      const d = await api('GET', `/v1/alerts/deliveries/${retriedId}`);
      return d.message.state === 'delivered' ? d : undefined;
    });
    expect(log.message).toMatchObject({ state: 'delivered', id: retriedId });
    const codes = (log.attempts as { status: number; attempt: number }[]).sort((a, b) => a.attempt - b.attempt).map((a) => a.status);
    expect(codes.at(-1)).toBe(200);
    expect(codes.slice(0, -1).every((c) => c === 500)).toBe(true);
    expect(codes.length).toBeGreaterThanOrEqual(4);

    const alerts = (await api('GET', '/v1/alerts?rule=quota-calls')).data as { details: { threshold: string }; tenant: string; state: string }[];
    expect(alerts.map((a) => `${a.tenant} ${a.details.threshold} ${a.state}`).sort()).toEqual(['acme 100% firing', 'acme 80% firing']);

    // Deliveries pending when the server is SIGKILLed: globex crosses 80 % and 100 % while the
    // receiver fails, plus three pings.
    receiver.status = 500;
    await calls('globex', 10);
    for (let i = 0; i < 3; i++) await api('POST', `/v1/alerts/endpoints/${endpoint.id}/test`);
    const pending = await waitFor('5 pending deliveries that were tried', async () => {
      const p = (await api('GET', '/v1/alerts/deliveries?state=pending')).data as { id: string; attempts: number }[];
      return p.length === 5 && p.every((m) => m.attempts >= 1) ? p : undefined;
    });
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    receiver.status = 200;
    server = start(port);
    await waitFor('the server after the restart', () => fetch(`${url}/readyz`).then((r) => r.ok, () => false));
    await waitFor('every pending delivery after the restart', () => pending.every((p) => receiver.delivered().has(p.id)));
    await waitFor('the deliveries recorded', async () => ((await api('GET', '/v1/alerts/deliveries?state=pending')).data as unknown[]).length === 0);
    // Let a few more evaluations run: nothing fires again.
    const runsBefore = ((await api('GET', '/v1/jobs?job=alerts-evaluate&status=succeeded&limit=1000')).runs as unknown[]).length;
    await waitFor('three more evaluations', async () => ((await api('GET', '/v1/jobs?job=alerts-evaluate&status=succeeded&limit=1000')).runs as unknown[]).length >= runsBefore + 3);

    // Every request verified; the same webhook-id always carried the same body; one firing message per alert.
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const bodies = new Map<string, Set<string>>();
    for (const r of receiver.received) bodies.set(r.id, (bodies.get(r.id) ?? new Set()).add(r.body));
    expect([...bodies.values()].every((s) => s.size === 1)).toBe(true);
    const firings = receiver.ofType('alert.firing').map((r) => `${alertOf(r).tenant} ${alertOf(r).details.threshold}`).sort();
    expect(firings).toEqual(['acme 100%', 'acme 80%', 'globex 100%', 'globex 80%']);
    expect(receiver.ofType('ping')).toHaveLength(4);
    expect((await api('GET', '/v1/alerts/deliveries?state=pending')).data).toEqual([]);
    expect((await api('GET', '/v1/alerts/deliveries?state=dead')).data).toEqual([]);
    const dupes = receiver.received.filter((r) => r.answered === 200).length - receiver.delivered().size;
    console.log(`alerts e2e: 80 % alert delivered as webhook-id ${firing80.id}; 100 % alert (webhook-id ${retriedId}) delivered after ${codes.length - 1} × 500; ${pending.length} deliveries pending at SIGKILL, all delivered after the restart; ${receiver.received.length} requests, all verified; ${dupes} duplicate deliveries (same webhook-id)`);
    server.kill('SIGTERM');
  }, 180_000);
});
