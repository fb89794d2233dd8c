import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { servicesRequired } from '@tally/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing.ts';
import { freePort } from './distributed-helpers.ts';

/**
 * #13 §3: a real Prometheus (Debian's, installed by .ci/services.d/prometheus.sh) scrapes a real
 * server's /metrics behind a read key (server.metricsRequireKey) and its query API answers with
 * Tally's series and the exact counts ingested.
 */
const PROMETHEUS = '/usr/bin/prometheus';
const available = existsSync(PROMETHEUS);
if (!available && servicesRequired) throw new Error(`Prometheus is required (TALLY_REQUIRE_SERVICES=1) but ${PROMETHEUS} is missing: bash .ci/services.d/prometheus.sh`);

describe.skipIf(!available)('Prometheus scrapes /metrics', () => {
  let s: TestServer;
  let prom: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tally-prom-'));
  let promUrl = '';

  beforeAll(async () => {
    s = await startTestServer({ meters: [{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }], config: { server: { host: '127.0.0.1', port: 0, logLevel: 'silent', metricsRequireKey: true } } });
    const reader = (await s.request('POST', '/v1/keys', { name: 'prometheus', scopes: ['read'] })).body as { token: string };
    const time = new Date().toISOString();
    const events = Array.from({ length: 37 }, (_, i) => ({ specversion: '1.0', id: `p${i}`, source: 't', type: 'call', subject: 'acme', time, data: {} }));
    expect((await s.request('POST', '/v1/events', events)).body.accepted).toBe(37);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      ['global: { scrape_interval: 1s }', 'scrape_configs:', '  - job_name: tally', `    static_configs: [ { targets: ["${new URL(s.url).host}"] } ]`, `    authorization: { credentials: "${reader.token}" }`].join('\n'),
    );
    prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  });
  afterAll(async () => {
    prom?.kill('SIGTERM');
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (q: string) => {
    const r = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return r.data.result;
  };

  it('scrapes Tally with its read key and answers with the exact counts', async () => {
    let accepted: string | undefined;
    for (let i = 0; i < 120 && accepted === undefined; i++) {
      await sleep(500);
      accepted = await query('tally_ingest_events_total{outcome="accepted"}').then((r) => r[0]?.value[1], () => undefined);
    }
    expect(accepted).toBe('37');
    const up = await query('up{job="tally"}');
    expect(up[0]?.value[1]).toBe('1');
    expect((await query('tally_events_stored'))[0]?.value[1]).toBe('37');
  }, 90_000);
});
