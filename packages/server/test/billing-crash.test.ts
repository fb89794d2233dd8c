import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './distributed-helpers.ts';

/**
 * SIGKILL during the invoice job (auto-finalizing): after a restart the runner resumes the
 * crashed run, and there is exactly one invoice per tenant and period, finalized with gapless
 * numbers — none lost, none twice, no hole in the sequence.
 */
const KEY = 'tally_BillCrashKey_abcdefghijklmnopqrstuvwxyz012345';
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const TENANTS = 300;
const dir = mkdtempSync(join(tmpdir(), 'tally-billcrash-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
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

async function ready(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    await sleep(100);
  }
  throw new Error('server did not become ready');
}

const get = async (url: string, path: string) => (await fetch(url + path, { headers: { authorization: `Bearer ${KEY}` } })).json() as Promise<Record<string, unknown>>;

describe('billing crash test', () => {
  it(`SIGKILL mid-run: ${TENANTS} tenants end with one finalized invoice each, numbers gapless`, async () => {
    writeFileSync(
      join(dir, 'tally.config.yaml'),
      [
        `store: { dataDir: ${JSON.stringify(join(dir, 'data'))} }`,
        'meters:',
        '  - { slug: calls, eventType: call, aggregation: COUNT, groupBy: {} }',
        'plans:',
        '  - { id: daily, currency: EUR, billingPeriod: day, prices: [ { name: Base, model: flat, amount: "1.50" }, { meter: calls, model: unit, unitPrice: "0.01" } ] }',
        'billing: { graceHours: 0, autoFinalize: true }',
        'tenants:',
        ...Array.from({ length: TENANTS }, (_, i) => `  - { id: t${i}, plan: daily }`),
      ].join('\n'),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let server = start(port);
    await ready(url);
    // The run is asked for and the server killed once some invoices, not all, are finalized.
    void fetch(`${url}/v1/jobs/invoices/run`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"range":"crash"}' }).catch(() => undefined);
    let before = 0;
    for (let i = 0; i < 400 && before < 20; i++) {
      await sleep(10);
      before = ((await get(url, '/v1/invoices?status=finalized')).data as unknown[]).length;
    }
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(TENANTS);

    server = start(port);
    await ready(url);
    // The crashed run (recorded as running) is resumed at start; asking again is then "done".
    for (let i = 0; i < 600; i++) {
      const runs = (await get(url, '/v1/jobs?job=invoices')).runs as { key: string; status: string; attempt: number }[];
      if (runs.some((r) => r.key === 'invoices:crash' && r.status === 'succeeded')) break;
      await sleep(100);
    }
    const again = await (await fetch(`${url}/v1/jobs/invoices/run`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"range":"crash"}' })).json();
    expect(again).toMatchObject({ ran: false, reason: 'done', run: { attempt: 2 } });
    const runs = (await get(url, '/v1/jobs?job=invoices')).runs as { key: string; status: string; attempt: number; error: string | null }[];
    expect(runs.filter((r) => r.key === 'invoices:crash').map((r) => [r.attempt, r.status])).toEqual([[2, 'succeeded'], [1, 'failed']]);

    const invoices = (await get(url, '/v1/invoices')).data as { tenant: string; number: string; status: string; periodStart: string; total: string }[];
    expect(invoices).toHaveLength(TENANTS);
    expect(new Set(invoices.map((i) => i.tenant)).size).toBe(TENANTS);
    expect(invoices.every((i) => i.status === 'finalized' && i.total === '1.50')).toBe(true);
    const numbers = invoices.map((i) => Number(i.number.split('-')[2])).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: TENANTS }, (_, i) => i + 1));
    console.log(`billing crash test: killed after ${before} of ${TENANTS} invoices were finalized; after the restart ${invoices.length} invoices, numbers 1…${numbers.at(-1)} without a gap`);
    server.kill('SIGTERM');
  }, 180_000);
});
