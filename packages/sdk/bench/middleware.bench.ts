/**
 * npm run bench:middleware — Fastify hello-world without and with the Tally middleware under
 * autocannon, same run, alternating trials (plain, tally, tally, plain…) so machine drift hits both.
 * Each host runs in its own process; events go to a minimal local sink. Prints req/s, the ratio,
 * and the host's CPU per request (less sensitive than req/s to the load generator sharing cores).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = 32;

function start(file: string, args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', here(file), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => proc.stdout?.once('data', (d: Buffer) => resolve({ proc, url: d.toString().trim() })));
}

const stop = (p: ChildProcess) => new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill('SIGTERM'); });

async function trial(mode: 'plain' | 'tally', sinkUrl: string): Promise<{ rps: number; cpuUs: number }> {
  const host = await start('./fastify-child.ts', [mode, sinkUrl]);
  const opts = { url: `${host.url}/hello/world`, connections: CONNECTIONS, headers: { 'x-tenant': 'acme' } };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  host.proc.kill('SIGUSR2'); // start the host's CPU window
  const r = await autocannon({ ...opts, duration: DURATION });
  const report = new Promise<string>((resolve) => host.proc.stdout?.once('data', (d: Buffer) => resolve(d.toString())));
  await stop(host.proc);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  const { cpuUsPerRequest } = JSON.parse(await report) as { cpuUsPerRequest: number };
  return { rps: r.requests.average, cpuUs: cpuUsPerRequest };
}

const sink = await start('./light-sink.ts', []);
const results: Record<'plain' | 'tally', number[]> = { plain: [], tally: [] };
const cpu: Record<'plain' | 'tally', number[]> = { plain: [], tally: [] };
for (let t = 0; t < TRIALS; t++) {
  // Alternate which variant goes first: the second host of a pair tends to run slower on a busy box.
  for (const mode of t % 2 === 0 ? (['plain', 'tally'] as const) : (['tally', 'plain'] as const)) {
    const { rps, cpuUs } = await trial(mode, sink.url);
    results[mode].push(rps);
    cpu[mode].push(cpuUs);
    console.log(`trial ${t + 1} ${mode.padEnd(5)} ${rps.toFixed(0)} req/s, host CPU ${cpuUs.toFixed(1)} µs/request`);
  }
}
const recorded = ((await (await fetch(`${sink.url}/_stats`)).json()) as { accepted: number }).accepted;
await stop(sink.proc);
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const ratio = mean(results.tally) / mean(results.plain);
console.log(`\nnode ${process.version}, autocannon ${CONNECTIONS} connections, ${TRIALS}×${DURATION}s per variant`);
console.log(`Fastify hello-world without middleware: ${mean(results.plain).toFixed(0)} req/s`);
console.log(`Fastify hello-world with tallyFastify:  ${mean(results.tally).toFixed(0)} req/s (${recorded} api.request events received by the sink)`);
console.log(`host CPU per request: ${mean(cpu.plain).toFixed(1)} µs without, ${mean(cpu.tally).toFixed(1)} µs with (+${(mean(cpu.tally) - mean(cpu.plain)).toFixed(1)} µs, serialisation and sending included)`);
console.log(`throughput ratio: ${ratio.toFixed(3)}× (target ≥ 0.97×) → ${ratio >= 0.97 ? 'MET' : 'NOT MET'}`);
