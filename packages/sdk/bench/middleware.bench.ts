/**
 * npm run bench:middleware — Fastify hello-world without and with tallyFastify under load.
 *
 * Same process layout for both variants: one host process (bench/fastify-child.ts) serves the
 * hello-world twice, on two ports, one with the middleware; one sink process; the load generator
 * here: bench/light-load.ts, a keep-alive GET loop that parses only status and Content-Length
 * (BENCH_LOADGEN=autocannon for autocannon).
 * With `taskset` and at least 2 cores, the host is pinned to core 0 and the load generator and
 * sink to core 1 (all their threads), so the generator disturbs the host as little as it can
 * (BENCH_PIN=0 turns this off). Short slices of load alternate between the two in ABBA order,
 * so machine drift (this box is shared) hits both alike. Reported: the host's CPU µs per request
 * (user + system, all threads; the tally slice's window ends only once everything it tracked was
 * delivered, so serialisation, gzip and sending are charged to it) and the added CPU per request
 * of each pair, the throughput ratio of each pair, and their medians and spread (min–max).
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { load } from './light-load.ts';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const PAIRS = Number(process.env.BENCH_PAIRS ?? 12);
const SLICE = Number(process.env.BENCH_SLICE ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** The load generator: bench/light-load.ts (default) or autocannon. */
const AUTOCANNON = process.env.BENCH_LOADGEN === 'autocannon';
type Mode = 'plain' | 'tally';
interface Slice {
  rps: number;
  served: number;
  cpuUs: number;
  userUs: number;
  sysUs: number;
}

// BENCH_PIN: `generator` (default) pins the load generator and the sink to the last core, so
// they never take the host's core from it, and leaves the host free to run on any core (on a
// machine shared with other work, a host pinned to one busy core gets only a share of it);
// `both` also pins the host to core 0; `0` pins nothing.
const CORES = availableParallelism();
const PIN_MODE = process.env.BENCH_PIN ?? 'generator';
const PIN = PIN_MODE !== '0' && CORES >= 2 && spawnSync('taskset', ['-V']).status === 0;
/** Pins every thread of `pid` to `core`; false when taskset is missing or pinning is off. */
const pin = (pid: number | undefined, core: number) => PIN && pid !== undefined && spawnSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' }).status === 0;

const sink = spawn(process.execPath, ['--import', 'tsx', here('./light-sink.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkUrl = await new Promise<string>((resolve) => sink.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
const host = fork(here('./fastify-child.ts'), [sinkUrl], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const reply = <T>(p: ChildProcess, msg?: object) =>
  new Promise<T>((resolve) => {
    p.once('message', (m) => resolve(m as T));
    if (msg) p.send(msg);
  });
const urls = await reply<Record<Mode, string>>(host);
const pinned = (PIN_MODE !== 'both' || pin(host.pid, 0)) && pin(sink.pid, CORES - 1) && pin(process.pid, CORES - 1);

async function slice(mode: Mode, seconds: number, measure = true): Promise<Slice> {
  const url = `${urls[mode]}/hello/world`;
  const headers = { 'x-tenant': 'acme' };
  if (measure) await reply(host, { cmd: 'start' });
  const r = AUTOCANNON ? await autocannon({ url, connections: CONNECTIONS, headers, duration: seconds }).then((a) => ({ rps: a.requests.average, non2xx: a.non2xx, errors: a.errors })) : await load(url, { connections: CONNECTIONS, seconds, headers });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  const cpu = measure ? await reply<Omit<Slice, 'rps'>>(host, { cmd: 'stop', mode }) : { served: 0, cpuUs: 0, userUs: 0, sysUs: 0 };
  return { rps: r.rps, ...cpu };
}

const fmtUs = (us: number) => `${us >= 0 ? '+' : ''}${us.toFixed(2)}`;
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

console.log(`node ${process.version}, ${CORES} cores, load average ${loadavg()[0]?.toFixed(1)} at start; gzip ${process.env.TALLY_GZIP === '1' ? 'forced on' : 'default (off to this loopback sink)'}`);
console.log(pinned ? `load generator and sink pinned to core ${CORES - 1} (taskset); host ${PIN_MODE === 'both' ? 'pinned to core 0' : 'on any core'}` : `not pinned (${PIN ? 'taskset failed' : 'BENCH_PIN=0, one core, or no taskset'})`);
for (const mode of ['plain', 'tally', 'plain', 'tally'] as const) await slice(mode, 1, false); // warm-up: JIT, sockets
const results: Record<Mode, Slice[]> = { plain: [], tally: [] };
const ratios: number[] = [];
const added: number[] = [];
for (let p = 0; p < PAIRS; p++) {
  const pair = {} as Record<Mode, Slice>;
  for (const mode of (p % 2 === 0 ? ['plain', 'tally'] : ['tally', 'plain']) as Mode[]) {
    const s = await slice(mode, SLICE);
    pair[mode] = s;
    results[mode].push(s);
    const busy = (s.cpuUs * s.served) / (SLICE * 1e6);
    console.log(`pair ${String(p + 1).padStart(2)} ${mode.padEnd(5)} ${s.rps.toFixed(0).padStart(6)} req/s, host CPU ${s.cpuUs.toFixed(2)} µs/request (user ${s.userUs.toFixed(2)}, system ${s.sysUs.toFixed(2)}), host busy ${(busy * 100).toFixed(0)}% of a core`);
  }
  ratios.push(pair.tally.rps / pair.plain.rps);
  added.push(pair.tally.cpuUs - pair.plain.cpuUs);
  console.log(`pair ${String(p + 1).padStart(2)} added CPU ${fmtUs(added[p] as number)} µs/request, throughput ratio ${(ratios[p] as number).toFixed(3)}`);
}
const stats = (await reply<{ stats: { acknowledged: number; dropped: number; tracked: number } }>(host, { cmd: 'stop', mode: 'tally' })).stats;
const received = ((await (await fetch(`${sinkUrl}/_stats`)).json()) as { accepted: number }).accepted;
host.kill('SIGKILL');
sink.kill('SIGTERM');

const med = (m: Mode, k: keyof Slice) => median(results[m].map((s) => s[k]));
const ratio = median(ratios);
const cpuPlain = med('plain', 'cpuUs');
const cpuTally = med('tally', 'cpuUs');
const addedMedian = median(added);
const spread = (a: number[], f: (x: number) => string) => `${f(Math.min(...a))} … ${f(Math.max(...a))}`;
console.log(`\n${AUTOCANNON ? 'autocannon' : 'light-load (bench/light-load.ts)'} ${CONNECTIONS} connections, ${PAIRS} ABBA pairs of ${SLICE}s slices, one host process for both variants, medians; load average ${loadavg()[0]?.toFixed(1)} at end`);
console.log(`Fastify hello-world without middleware: ${med('plain', 'rps').toFixed(0)} req/s`);
console.log(`Fastify hello-world with tallyFastify:  ${med('tally', 'rps').toFixed(0)} req/s (${received} api.request events received by the sink = ${stats.acknowledged} acknowledged of ${stats.tracked} tracked, ${stats.dropped} dropped)`);
console.log(`host CPU per request (median of slices): ${cpuPlain.toFixed(2)} µs without, ${cpuTally.toFixed(2)} µs with (serialisation, gzip and sending included)`);
console.log(`added CPU per request, per pair: ${added.map(fmtUs).join(' ')}`);
console.log(`added CPU per request: median ${fmtUs(addedMedian)} µs (${((addedMedian / cpuPlain) * 100).toFixed(1)}% of the plain request), spread ${spread(added, fmtUs)} µs (target ≤ 2 µs) → ${addedMedian <= 2 ? 'MET' : 'NOT MET'}`);
// Other work on the machine only ever adds CPU to a slice (cache misses, preemption), so each
// variant's quietest slices are the closest this machine gets to its uncontended cost.
const low = (m: Mode) => Math.min(...results[m].map((s) => s.cpuUs));
console.log(`quietest slices (lowest CPU per request of each variant): ${low('plain').toFixed(2)} µs without, ${low('tally').toFixed(2)} µs with (${fmtUs(low('tally') - low('plain'))} µs)`);
console.log(`throughput ratio, per pair: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
console.log(`throughput ratio: median ${ratio.toFixed(3)}×, spread ${spread(ratios, (r) => r.toFixed(3))}× (target ≥ 0.97×) → ${ratio >= 0.97 ? 'MET' : 'NOT MET'}`);
