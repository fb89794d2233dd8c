import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/cli/client.ts';
import { buildCli } from '../src/cli/program.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { waitFor, WebhookReceiver } from './webhook-receiver.ts';

/**
 * `tally alerts …` against a real server and a receiver verifying with `standardwebhooks`:
 * endpoints (add, test ping, secret rotation: both the old and the new secret verify during the
 * grace period), the alert list as a table, JSON and CSV, the outbox and its log, and bad input
 * as one line and a non-zero exit.
 */
let s: TestServer;
const receiver = new WebhookReceiver();

/**
 * Runs `tally alerts …` in this process (a spawned CLI takes seconds to start on a loaded
 * machine); a CliError is what main.ts prints as one line with exit code 2.
 */
async function tally(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  try {
    await buildCli().parseAsync(['node', 'tally', 'alerts', ...args, '--url', s.url, '--key', s.adminToken]);
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    if (err instanceof CliError) return { code: 2, stdout, stderr: `tally: ${err.message}\n` };
    throw err;
  } finally {
    process.stdout.write = write;
  }
}

beforeAll(async () => {
  s = await startTestServer({
    meters: [{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }],
    config: { plans: [{ id: 'free', entitlements: [{ meter: 'calls', period: 'month', limit: 5 }] }], tenants: [{ id: 'acme', plan: 'free' }], alerts: { schedule: '* * * * * *', delivery: { pollMs: 100, baseDelayMs: 100, maxDelayMs: 200, maxAttempts: 2 } } },
  });
});
afterAll(async () => {
  await s.close();
  await receiver.close();
});

describe('tally alerts', () => {
  it('endpoints, rotation, pings, alerts and deliveries', async () => {
    const hook = await receiver.listen();
    const added = await tally(['endpoints', 'add', hook, '--json']);
    expect(added.code).toBe(0);
    const ep = JSON.parse(added.stdout) as { id: string; secret: string };
    receiver.secret = ep.secret;
    expect((await s.request('POST', '/v1/alerts/rules', { id: 'q', kind: 'quota', meter: 'calls', thresholds: ['80%', '100%', '60%'], channels: [ep.id] })).status).toBe(201);

    // Rotation: the old secret and the new one both verify the next ping.
    const rotated = await tally(['endpoints', 'rotate', ep.id, '--grace', '60', '--json']);
    const fresh = (JSON.parse(rotated.stdout) as { secret: string }).secret;
    expect(fresh).not.toBe(ep.secret);
    const ping1 = (JSON.parse((await tally(['endpoints', 'test', ep.id, '--json'])).stdout) as { id: string }).id;
    await waitFor('the ping under the old secret', () => receiver.delivered().get(ping1));
    receiver.secret = fresh;
    const ping2 = (JSON.parse((await tally(['endpoints', 'test', ep.id, '--json'])).stdout) as { id: string }).id;
    await waitFor('the ping under the new secret', () => receiver.delivered().get(ping2));
    expect((await tally(['endpoints', 'list'])).stdout).toMatch(/whsec_.*\(until .*\), whsec_|whsec_.*, whsec_.*\(until/);

    // 4 of 5 calls: 60 % (computed from the query layer) and 80 % (the recorded warning).
    const now = new Date().toISOString();
    expect((await s.request('POST', '/v1/events', Array.from({ length: 4 }, (_, i) => ({ specversion: '1.0', id: `c${i}`, source: 't', type: 'call', subject: 'acme', time: now, data: {} })))).body.accepted).toBe(4);
    await waitFor('two firing alerts', () => receiver.ofType('alert.firing').length >= 2);
    const list = JSON.parse((await tally(['list', '--state', 'firing', '--json'])).stdout) as { id: string; details: { threshold: string } }[];
    expect(list.map((a) => a.details.threshold).sort()).toEqual(['60%', '80%']);
    const csv = (await tally(['list', '--csv'])).stdout.trim().split('\n');
    expect(csv[0]).toBe('id,state,rule,kind,tenant,fired,resolved,notifications,summary');
    expect(csv).toHaveLength(3);
    const table = (await tally(['list'])).stdout;
    expect(table).toContain('acme: calls at 60% of its limit (4 of 5)');

    await waitFor('the ping recorded', async () => (await s.request('GET', `/v1/alerts/deliveries/${ping1}`)).body.message.state === 'delivered');
    const shown = await tally(['deliveries', 'show', ping1]);
    expect(shown.stdout).toContain(`${ping1} ping → ${ep.id}: delivered after 1 attempt(s)`);
    expect((await tally(['deliveries', 'list', '--state', 'dead'])).stdout.trim()).toBe('no messages');
    const acked = await tally(['ack', list[0]!.id]);
    expect(acked.stdout).toContain(`acknowledged ${list[0]!.id} (firing)`);

    const bad = await tally(['silence', list[0]!.id, '--until', 'tomorrow']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--until: "tomorrow" is neither a duration (30m, 2h, 1d) nor an RFC 3339 time');
    const missing = await tally(['ack', 'alr_nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('NOT_FOUND: no alert "alr_nope"');

    // Dead-lettered after the budget (2 attempts), then redelivered under the same webhook-id.
    receiver.status = 500;
    const doomed = (JSON.parse((await tally(['endpoints', 'test', ep.id, '--json'])).stdout) as { id: string }).id;
    await waitFor('the dead letter', async () => ((await s.request('GET', '/v1/alerts/deliveries?state=dead')).body.data as { id: string }[]).some((m) => m.id === doomed));
    expect((await tally(['deliveries', 'list', '--state', 'dead'])).stdout).toContain(doomed);
    receiver.status = 200;
    expect((await tally(['deliveries', 'redeliver', doomed])).stdout).toBe(`${doomed} is pending again (same webhook-id)\n`);
    await waitFor('the redelivery', () => receiver.delivered().get(doomed));
    // The receiver answered; the dispatcher records the result right after.
    await waitFor('the redelivery recorded', async () => (await s.request('GET', `/v1/alerts/deliveries/${doomed}`)).body.message.state === 'delivered');
    const log = (await tally(['deliveries', 'show', doomed])).stdout;
    expect(log).toContain(`${doomed} ping → ${ep.id}: delivered after 3 attempt(s)`);
    expect(log.match(/#\d\s+\S+\s+(500|200)/g)?.map((l) => l.split(/\s+/)[2])).toEqual(['200', '500', '500']);
    expect(receiver.received.filter((r) => r.id === doomed).map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
  }, 120_000);
});
