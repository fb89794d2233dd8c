import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { canConnect } from '@tally/testkit';
import { compileMeter, type MeterDefinition } from '../src/meters/meter.ts';
import { LiveCounters } from '../src/pipeline/live-counters.ts';


/** The meters of the distributed test cluster. */
export const DIST_METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { shard: '$.shard' } },
  { slug: 'units', eventType: 'call', aggregation: 'SUM', valueProperty: '$.units', groupBy: {} },
];

/** The rollup series (live counter key) of one of DIST_METERS. */
export function seriesOf(slug: string): string {
  return compileMeter(DIST_METERS.find((m) => m.slug === slug)!).series;
}

/** Helpers of the multi-process tests of the distributed profile (every name unique per run). */
export const CH_URL = 'http://127.0.0.1:8123';
export const NATS_URL = 'nats://127.0.0.1:4222';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const KEY = 'tally_DistTestKey1_abcdefghijklmnopqrstuvwxyz012345';
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

/** Every process these helpers start; killed if the test process exits without cleaning up. */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of spawned) c.kill('SIGKILL');
});
function track(child: ChildProcess): ChildProcess {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

/** One test deployment: names, config file, child processes. */
export class Deployment {
  readonly id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  readonly stream = `TALLY_TEST_${this.id}`;
  readonly database = `tally_test_dist_${this.id}`;
  readonly redisPrefix = `tally-test-${this.id}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'tally-dist-'));
  readonly configFile = join(this.dir, 'tally.config.yaml');
  readonly children = new Set<ChildProcess>();

  constructor(
    readonly partitions: number,
    readonly duplicateWindowSeconds: number,
    readonly clickhouseUrl = CH_URL,
    workerBatch = 5000,
    meters: MeterDefinition[] = DIST_METERS,
    /** More lines of the config file (top-level YAML: plans, tenants, quotas, audit). */
    extraConfig: string[] = [],
    /** Tenants spread over every partition (`distributed.hotTenants`). */
    readonly hotTenants: string[] = [],
  ) {
    writeFileSync(
      this.configFile,
      [
        'profile: distributed',
        'distributed:',
        `  stream: ${this.stream}`,
        `  subjectPrefix: tally.test.${this.id}`,
        `  partitions: ${partitions}`,
        `  duplicateWindowSeconds: ${duplicateWindowSeconds}`,
        `  clickhouseUrl: ${clickhouseUrl}`,
        `  clickhouseDatabase: ${this.database}`,
        `  redisPrefix: ${this.redisPrefix}`,
        `  workerBatch: ${workerBatch}`,
        `  hotTenants: ${JSON.stringify(hotTenants)}`,
        'security: { actorHashSecret: dist-test-secret-0123456789, adminKey: ' + KEY + ' }',
        `store: { dataDir: ${JSON.stringify(join(this.dir, 'data'))} }`,
        'meters:',
        ...meters.map((m) => `  - ${JSON.stringify(m)}`),
        ...extraConfig,
      ].join('\n'),
    );
  }

  private spawnCli(args: string[]): ChildProcess {
    const child = track(spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--config', this.configFile], {
      env: { ...process.env, TALLY_LOG_LEVEL: 'warn', TALLY_CONFIG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    }));
    child.stderr!.on('data', (b: Buffer) => {
      const text = b.toString();
      if (/retry|fatal|Error/i.test(text)) process.stderr.write(`[${args[0]} ${child.pid}] ${text.length > 400 ? `${text.slice(0, 400)}…\n` : text}`);
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Starts an API node on `port` and waits until it is ready. */
  async api(port: number): Promise<ChildProcess> {
    const child = this.spawnCli(['serve', '--port', String(port)]);
    await waitReady(`http://127.0.0.1:${port}`, child);
    return child;
  }

  /** Starts a worker owning partitions p with p mod `of` = `index`. */
  worker(index: number, of: number): ChildProcess {
    return this.spawnCli(['worker', '--index', String(index), '--of', String(of), '--quiet']);
  }

  /** SIGKILLs a child and waits for it to be gone. */
  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  }

  /** Stops every child, then deletes the stream, database, Redis keys and temp dir of this run. */
  async destroy(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.kill(c, 'SIGTERM')));
    const nc = await connect({ servers: NATS_URL });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(this.stream).catch(() => undefined);
    await nc.close();
    if (await canConnect('127.0.0.1', Number(new URL(this.clickhouseUrl).port))) {
      const ch = createClient({ url: this.clickhouseUrl, request_timeout: 120_000, log: { level: ClickHouseLogLevel.OFF } });
      await ch.command({ query: `DROP DATABASE IF EXISTS ${this.database}` }).catch((err: Error) => console.warn(`could not drop ${this.database}: ${err.message}`));
      await ch.close();
    }
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.redisPrefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The Redis live counters of this deployment. */
  counters(redis: Redis): LiveCounters {
    return new LiveCounters(redis, `${this.redisPrefix}:${this.stream}`, this.partitions, this.hotTenants);
  }

  /** Runs a ClickHouse query on this run's database (TSV rows). */
  async clickhouse(query: string): Promise<string[][]> {
    const ch = createClient({ url: this.clickhouseUrl, database: this.database });
    try {
      const text = await (await ch.query({ query, format: 'TabSeparated' })).text();
      return text.trim().split('\n').map((l) => l.split('\t'));
    } finally {
      await ch.close();
    }
  }
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before becoming ready`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} did not become ready`);
}

/** Total consumer lag from an API node's /metrics (undefined while unreadable). */
export async function lagOf(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith('tally_pipeline_consumer_lag{'));
    if (lines.length === 0) return undefined;
    return lines.reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  } catch {
    return undefined;
  }
}

/** POSTs a batch, trying the nodes in turn until one answers 200; returns the receipt counts. */
export async function sendWithRetry(urls: string[], start: number, batch: unknown[]): Promise<{ accepted: number; duplicates: number; attempts: number }> {
  for (let attempt = 0; ; attempt++) {
    const url = urls[(start + attempt) % urls.length]!;
    try {
      const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
      if (res.status === 200) {
        const body = (await res.json()) as { accepted: number; duplicates: number; rejected: number };
        if (body.rejected > 0) throw new Error(`unexpected rejections: ${JSON.stringify(body).slice(0, 300)}`);
        return { accepted: body.accepted, duplicates: body.duplicates, attempts: attempt + 1 };
      }
      await res.text();
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected')) throw err;
      /* node down or restarting: try the next one */
    }
    await sleep(20 + Math.random() * 80);
  }
}

/** A meter query through one API node: the `data` rows. */
export async function query(url: string, meter: string, params: string): Promise<{ value: string; tenant: string | null }[]> {
  const res = await fetch(`${url}/v1/meters/${meter}/query?${params}`, { headers: { authorization: `Bearer ${KEY}` } });
  if (res.status !== 200) throw new Error(`query ${meter} via ${url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { value: string; tenant: string | null }[] }).data;
}

/** Polls `check` until it returns true (a liveness wait with a generous cap, not a timed assertion). */
export async function eventually(what: string, check: () => Promise<boolean>, capMs = 240_000): Promise<void> {
  const until = Date.now() + capMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/**
 * A private ClickHouse server (own port, own data directory) for tests that stop ClickHouse:
 * the shared server on 8123 is never stopped, so concurrent test runs are not disturbed.
 */
export class PrivateClickHouse {
  readonly dir = mkdtempSync(join(tmpdir(), 'tally-ch-'));
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** True when the clickhouse-server binary is installed. */
  static installed(): boolean {
    return spawnSync('clickhouse-server', ['--help'], { stdio: 'ignore' }).error === undefined;
  }

  /** True while the server process runs. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts (or restarts, on the same data) and waits until `SELECT 1` answers; no-op while running. */
  async start(): Promise<void> {
    if (this.running) return;
    const p = (sub: string) => `${join(this.dir, sub)}/`;
    const base = this.port;
    this.child = track(spawn(
      'clickhouse-server',
      [
        '--config-file=/etc/clickhouse-server/config.xml',
        '--',
        `--http_port=${base}`,
        `--tcp_port=${base + 1}`,
        `--interserver_http_port=${base + 2}`,
        `--path=${p('data')}`,
        `--tmp_path=${p('tmp')}`,
        `--user_files_path=${p('user_files')}`,
        `--format_schema_path=${p('format_schemas')}`,
        `--logger.log=${join(this.dir, 'server.log')}`,
        `--logger.errorlog=${join(this.dir, 'server.err.log')}`,
      ],
      { stdio: 'ignore', cwd: this.dir },
    ));
    for (let i = 0; i < 300; i++) {
      try {
        if ((await (await fetch(`${this.url}/?query=SELECT%201`)).text()).trim() === '1') return;
      } catch {
        /* starting */
      }
      if (this.child.exitCode !== null) throw new Error(`clickhouse-server exited with ${this.child.exitCode}; see ${this.dir}/server.err.log`);
      await sleep(100);
    }
    throw new Error('the private ClickHouse did not start');
  }

  /** Stops the server (SIGTERM) and waits until it is gone. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await gone;
  }

  /** Stops the server and deletes its data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three consecutive free ports (HTTP, native, interserver) for a private ClickHouse. */
export async function freePortBlock(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p > 65_000) continue;
    if ((await Promise.all([canConnect('127.0.0.1', p + 1, 100), canConnect('127.0.0.1', p + 2, 100)])).every((open) => !open)) return p;
  }
}
