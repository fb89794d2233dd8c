/**
 * npm run bench:middleware — Fastify hello-world without and with tallyFastify under autocannon.
 *
 * Same process layout for both variants: one host process (bench/fastify-child.ts) serves the
 * hello-world twice, on two ports, one with the middleware; one sink process; autocannon here.
 * Short slices of load alternate between the two in ABBA order, so machine drift (this box is
 * shared) hits both alike. Reported per variant: the median req/s over its slices, the median
 * of the per-pair throughput ratios, and the host's CPU µs per request (user + system, all
 * threads; the tally slice's window ends only once everything it tracked was delivered, so
 * serialisation, gzip and sending are charged to it).
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const PAIRS = Number(process.env.BENCH_PAIRS ?? 8);
const SLICE = Number(process.env.BENCH_SLICE ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
type Mode = 'plain' | 'tally';
interface Slice {
  rps: number;
  served: number;
  cpuUs: number;
  userUs: number;
  sysUs: number;
}

const sink = spawn(process.execPath, ['--import', 'tsx', here('./light-sink.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkUrl = await new Promise<string>((resolve) => sink.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
const host = fork(here('./fastify-child.ts'), [sinkUrl], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const reply = <T>(p: ChildProcess, msg?: object) =>
  new Promise<T>((resolve) => {
    p.once('message', (m) => resolve(m as T));
    if (msg) p.send(msg);
  });
const urls = await reply<Record<Mode, string>>(host);

async function slice(mode: Mode, seconds: number, measure = true): Promise<Slice> {
  const opts = { url: `${urls[mode]}/hello/world`, connections: CONNECTIONS, headers: { 'x-tenant': 'acme' }, duration: seconds };
  if (measure) await reply(host, { cmd: 'start' });
  const r = await autocannon(opts);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  const cpu = measure ? await reply<Omit<Slice, 'rps'>>(host, { cmd: 'stop', mode }) : { served: 0, cpuUs: 0, userUs: 0, sysUs: 0 };
  return { rps: r.requests.average, ...cpu };
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

console.log(`node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)} at start; gzip ${process.env.TALLY_GZIP === '1' ? 'forced on' : 'default (off to this loopback sink)'}`);
for (const mode of ['plain', 'tally', 'plain', 'tally'] as const) await slice(mode, 1, false); // warm-up: JIT, sockets
const results: Record<Mode, Slice[]> = { plain: [], tally: [] };
const ratios: number[] = [];
for (let p = 0; p < PAIRS; p++) {
  const pair = {} as Record<Mode, Slice>;
  for (const mode of (p % 2 === 0 ? ['plain', 'tally'] : ['tally', 'plain']) as Mode[]) {
    const s = await slice(mode, SLICE);
    pair[mode] = s;
    results[mode].push(s);
    console.log(`pair ${String(p + 1).padStart(2)} ${mode.padEnd(5)} ${s.rps.toFixed(0).padStart(6)} req/s, host CPU ${s.cpuUs.toFixed(1)} µs/request (user ${s.userUs.toFixed(1)}, system ${s.sysUs.toFixed(1)})`);
  }
  ratios.push(pair.tally.rps / pair.plain.rps);
}
const stats = (await reply<{ stats: { acknowledged: number; dropped: number; tracked: number } }>(host, { cmd: 'stop', mode: 'tally' })).stats;
const received = ((await (await fetch(`${sinkUrl}/_stats`)).json()) as { accepted: number }).accepted;
host.kill('SIGKILL');
sink.kill('SIGTERM');

const med = (m: Mode, k: keyof Slice) => median(results[m].map((s) => s[k]));
const ratio = median(ratios);
const cpuPlain = med('plain', 'cpuUs');
const cpuTally = med('tally', 'cpuUs');
console.log(`\nautocannon ${CONNECTIONS} connections, ${PAIRS} ABBA pairs of ${SLICE}s slices, one host process for both variants, medians; load average ${loadavg()[0]?.toFixed(1)} at end`);
console.log(`Fastify hello-world without middleware: ${med('plain', 'rps').toFixed(0)} req/s`);
console.log(`Fastify hello-world with tallyFastify:  ${med('tally', 'rps').toFixed(0)} req/s (${received} api.request events received by the sink = ${stats.acknowledged} acknowledged of ${stats.tracked} tracked, ${stats.dropped} dropped)`);
console.log(`host CPU per request: ${cpuPlain.toFixed(1)} µs without, ${cpuTally.toFixed(1)} µs with (+${(cpuTally - cpuPlain).toFixed(1)} µs, +${((cpuTally / cpuPlain - 1) * 100).toFixed(1)}%; serialisation, gzip and sending included)`);
console.log(`per-pair throughput ratios: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
console.log(`throughput ratio (median of pairs): ${ratio.toFixed(3)}× (target ≥ 0.97×) → ${ratio >= 0.97 ? 'MET' : 'NOT MET'}`);
