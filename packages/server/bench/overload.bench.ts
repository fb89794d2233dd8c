/**
 * bench:overload — a hostile load against a real `tally serve` process (the demo meters of
 * tally.config.yaml, default limits and timeouts), the way issue 12 found it:
 *
 *   1. burst: 50 connections × 2 gzip batches of ~1 MiB (~1.6 MiB unzipped)
 *   2. dense: 20 connections × 1 gzip batch of 10,000 events (~9.4 MiB unzipped)
 *   3. slow: 100 slowloris connections (headers byte by byte) and a slow chunked body
 *
 * Per phase it prints the server's peak RSS, /healthz p99 and max (polled every 20 ms), the
 * answers by status; at the end the events lost: the server is stopped and its DuckDB file read,
 * and every request answered 2xx must have exactly its accepted events stored, every other
 * request none. No client retries: a refused request is simply counted.
 *
 *   npm run bench:overload [-- --connections 50 --dense-clients 20 --slow 100 --slow-window 40]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { makeBody, memory, percentile, pollHealth, sampleRss, sendOverOneConnection, slowChunkedBody, slowloris, type Answer, type Body } from './overload-clients.ts';
import { BENCH_KEY, fmt, freePort, startServerProcess } from './support.ts';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    'dense-clients': { type: 'string', default: '20' },
    slow: { type: 'string', default: '100' },
    'slow-window': { type: 'string', default: '40' },
    config: { type: 'string' },
  },
});
const CONNECTIONS = Number(args.connections);
const DENSE = Number(args['dense-clients']);
const SLOW = Number(args.slow);
const SLOW_WINDOW_MS = Number(args['slow-window']) * 1000;
const MB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'tally-bench-overload-'));
const base = parseYaml(readFileSync(join(import.meta.dirname, '../../../tally.config.yaml'), 'utf8')) as Record<string, unknown>;
// --config adds settings (e.g. a `server:` block) on top of the demo meters, to try other limits.
const extra = args.config ? (parseYaml(readFileSync(args.config, 'utf8')) as Record<string, unknown>) : {};
const cfg = join(dir, 'tally.yaml');
writeFileSync(cfg, toYaml({ ...extra, store: { ...(extra.store as object), dataDir: join(dir, 'data') }, meters: base.meters }));

console.log(`bench:overload — node ${process.version}, a real \`tally serve\` process with the ${(base.meters as unknown[]).length} demo meters${args.config ? ` and ${args.config}` : ''}; preparing bodies…`);
const burst: Body[][] = Array.from({ length: CONNECTIONS }, (_, c) => [0, 1].map((k) => makeBody(`b${c * 2 + k}`, 1300, 1020, 'base64', c * 2 + k)));
const dense: Body[][] = Array.from({ length: DENSE }, (_, c) => [makeBody(`d${c}`, 10_000, 710, 'hex', 10_000 + c)]);
const sizes = (bs: Body[][]) => `${(bs[0]![0]!.gz.length / MB).toFixed(2)} MiB gzip, ${(bs[0]![0]!.rawBytes / MB).toFixed(2)} MiB unzipped, ${fmt(bs[0]![0]!.events)} events each`;

const server = await startServerProcess(cfg, await freePort());
const pid = server.child.pid!;
const answers: Answer[] = [];
const idle = memory(pid).rss;

/**
 * Runs a phase while sampling RSS and polling /healthz twice over: on one kept-alive connection
 * (a load balancer's health check) and on a new connection per poll (kubelet's probes); prints its figures.
 */
async function phase(name: string, run: () => Promise<string>): Promise<{ rss: number; p99: number; max: number; freshMax: number }> {
  const rss = sampleRss(pid);
  const kept = pollHealth(server.url);
  const fresh = pollHealth(server.url, true);
  await Promise.all([kept.ready, fresh.ready]);
  const t0 = performance.now();
  const what = await run();
  const secs = (performance.now() - t0) / 1000;
  const [lat, latFresh] = await Promise.all([kept.stop(), fresh.stop()]);
  const r = { rss: rss.stop(), p99: percentile(lat, 99), max: Math.max(...lat), freshMax: Math.max(...latFresh) };
  const line = `  ${name.padEnd(7)} max RSS ${fmt(r.rss)} MB · /healthz p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (${lat.length} polls; new connection per poll: p99 ${percentile(latFresh, 99).toFixed(1)} ms, max ${r.freshMax.toFixed(1)} ms) · ${secs.toFixed(1)} s · ${what}`;
  console.log(line);
  return r;
}

function tally(list: Answer[]): string {
  answers.push(...list);
  const by = new Map<string, number>();
  for (const a of list) {
    const k = a.status >= 200 && a.status < 300 ? '2xx' : a.status === 429 || a.status === 503 ? String(a.status) : a.status === 0 ? `error ${a.error}` : String(a.status);
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  const events = list.reduce((s, a) => s + a.accepted, 0);
  return `answers ${[...by].map(([k, n]) => `${k}: ${n}`).join(', ')}; ${fmt(events)} events acknowledged`;
}

console.log(`  server pid ${pid}, idle RSS ${fmt(idle)} MB; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores (other work on the machine delays /healthz too)`);
let b = { rss: 0, p99: 0, max: 0, freshMax: 0 };
if (CONNECTIONS > 0) {
  console.log(`  burst: ${CONNECTIONS} connections × 2 batches (${sizes(burst)})`);
  b = await phase('burst', async () => tally((await Promise.all(burst.map((bodies) => sendOverOneConnection(server.url, BENCH_KEY, bodies)))).flat()));
}
if (DENSE > 0) {
  console.log(`  dense: ${DENSE} connections × 1 batch (${sizes(dense)})`);
  await phase('dense', async () => tally((await Promise.all(dense.map((bodies) => sendOverOneConnection(server.url, BENCH_KEY, bodies)))).flat()));
}
if (SLOW > 0) console.log(`  slow: ${SLOW} slowloris connections (a header byte every 500 ms) and a chunked body (a byte every 500 ms), watched ${SLOW_WINDOW_MS / 1000} s`);
if (SLOW > 0) await phase('slow', async () => {
  const [loris, chunked] = await Promise.all([slowloris(server.url, SLOW, 500, SLOW_WINDOW_MS), slowChunkedBody(server.url, BENCH_KEY, 500, SLOW_WINDOW_MS)]);
  const cut = loris.filter((ms) => ms !== Infinity);
  const cutText = cut.length ? `cut after ${(percentile(cut, 50) / 1000).toFixed(1)} s median, ${(Math.max(...cut) / 1000).toFixed(1)} s max` : 'none cut';
  const chunkedText = chunked.ms >= SLOW_WINDOW_MS ? `held ${(chunked.ms / 1000).toFixed(1)} s, then answered ${chunked.status || 'nothing'} ${chunked.code ?? ''}` : `cut after ${(chunked.ms / 1000).toFixed(1)} s (answer: ${chunked.status || 'none'} ${chunked.code ?? ''})`;
  return `slowloris: ${cut.length}/${SLOW} ${cutText}, ${SLOW - cut.length} still open after ${SLOW_WINDOW_MS / 1000} s; slow chunked body ${chunkedText}`;
});

await server.stop();
const db = await DuckDBInstance.create(join(dir, 'data', 'tally.duckdb'));
const conn = await db.connect();
const stored = new Map<string, number>();
for (const row of (await conn.runAndReadAll("SELECT split_part(id, '-', 1) AS r, count(*)::INTEGER FROM events GROUP BY 1")).getRows()) stored.set(String(row[0]), Number(row[1]));
conn.closeSync();
db.closeSync();
let lost = 0;
let refusedButStored = 0;
for (const a of answers) {
  const n = stored.get(a.prefix) ?? 0;
  if (a.status >= 200 && a.status < 300) lost += Math.max(0, a.accepted - n);
  else refusedButStored += n;
}
const verdict = `events lost: ${lost} (acknowledged but not stored); events stored from refused requests: ${refusedButStored}`;
console.log(`  ${verdict}`);
console.log(`  targets under the burst: max RSS ≤ 512 MB (${b.rss <= 512 ? 'met' : 'MISSED'}: ${fmt(b.rss)} MB), /healthz max ≤ 100 ms (${b.max <= 100 ? 'met' : 'MISSED'}: ${b.max.toFixed(1)} ms); 0 events lost (${lost === 0 ? 'met' : 'MISSED'})`);
rmSync(dir, { recursive: true, force: true });
process.exit(lost === 0 ? 0 : 1);
