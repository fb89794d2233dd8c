/**
 * npm run bench:sdk — @tally/sdk track() vs posthog-node capture() vs @segment/analytics-node
 * track(): same run, same local sink (its own process), same event shape, each SDK in a fresh
 * process. Prints synchronous ns/call, total CPU µs/event (serialisation + compression + HTTP,
 * until the SDK says everything was sent), retained heap growth per queued event, and the ratios.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const N = process.env.BENCH_EVENTS ?? '20000';
const ROUNDS = process.env.BENCH_ROUNDS ?? '5';

const sinkProc = spawn(process.execPath, ['--import', 'tsx', here('./sink-child.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
const sinkUrl = await new Promise<string>((resolve) => sinkProc.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
const count = async () => (await (await fetch(`${sinkUrl}/_stats`)).json()) as { accepted: number; peers: { posthog: number; segment: number } };

interface Row {
  sdk: string;
  events: number;
  syncNs: number;
  syncCpuNs: number;
  cpuUs: number;
  heapPerEvent: number;
  received: number;
}

// `tally` runs with its defaults (to this loopback sink: no gzip); `tally (gzip on)` forces gzip
// level 1, what a remote endpoint gets by default. posthog-node gzips by default, Segment does not.
const SDKS = ['tally', 'tally (gzip on)', 'posthog-node', '@segment/analytics-node'];
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const runs: Record<string, Row[]> = Object.fromEntries(SDKS.map((s) => [s, []]));
for (let t = 0; t < TRIALS; t++) {
  // Rotate the order each trial, so no SDK always runs first (or last) on a drifting machine.
  for (const sdk of SDKS.map((_, k) => SDKS[(k + t) % SDKS.length] as string)) {
    const before = await count();
    const gz = sdk === 'tally (gzip on)';
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', here('./sdk-child.ts'), gz ? 'tally' : sdk, sinkUrl, N, ROUNDS], { maxBuffer: 1 << 20, env: { ...process.env, TALLY_GZIP: gz ? '1' : '' } });
    const after = await count();
    const received = sdk.startsWith('tally') ? after.accepted - before.accepted : sdk === 'posthog-node' ? after.peers.posthog - before.peers.posthog : after.peers.segment - before.peers.segment;
    const row = { ...(JSON.parse(stdout.trim().split('\n').pop() as string) as Omit<Row, 'received'>), sdk, received };
    (runs[sdk] as Row[]).push(row);
    console.log(`trial ${t + 1} ${sdk.padEnd(24)} CPU ${row.cpuUs.toFixed(2)} µs/event, sync ${row.syncCpuNs.toFixed(0)} ns CPU/call (${row.syncNs.toFixed(0)} ns wall)`);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
const rows: Row[] = SDKS.map((sdk) => {
  const r = runs[sdk] as Row[];
  return { sdk, events: med(r.map((x) => x.events)), syncNs: med(r.map((x) => x.syncNs)), syncCpuNs: med(r.map((x) => x.syncCpuNs)), cpuUs: med(r.map((x) => x.cpuUs)), heapPerEvent: med(r.map((x) => x.heapPerEvent)), received: Math.min(...r.map((x) => x.received)) };
});
sinkProc.kill('SIGTERM');

const f = (n: number, d = 2) => n.toFixed(d).padStart(10);
console.log(`\nnode ${process.version}, ${N} events × ${ROUNDS} rounds per SDK process (median round), ${TRIALS} trials in rotating order (median trial), sink in its own process\n`);
// Sync CPU is the process's CPU time during the synchronous call loop (nothing else runs then);
// sync wall also counts the time the process waited for a core, which on a shared machine can
// be several times the CPU.
console.log('sdk                         sync CPU ns/call  sync wall ns/call  CPU µs/event  heap B/event   received/sent (worst trial)');
for (const r of rows) console.log(`${r.sdk.padEnd(27)} ${f(r.syncCpuNs, 0)}        ${f(r.syncNs, 0)}         ${f(r.cpuUs)}    ${f(r.heapPerEvent, 0)}   ${r.received}/${r.events}`);
const ours = rows[0] as Row;
const oursGz = rows[1] as Row;
const peers = rows.slice(2);
const best = (k: 'syncNs' | 'syncCpuNs' | 'cpuUs' | 'heapPerEvent') => Math.min(...peers.map((p) => p[k]));
console.log('');
for (const p of peers) console.log(`tally / ${p.sdk}: sync CPU ${(ours.syncCpuNs / p.syncCpuNs).toFixed(3)}×, CPU ${(ours.cpuUs / p.cpuUs).toFixed(3)}× (gzip on: ${(oursGz.cpuUs / p.cpuUs).toFixed(3)}×), heap ${(ours.heapPerEvent / p.heapPerEvent).toPrecision(2)}×`);
const ratio = ours.cpuUs / best('cpuUs');
const ratioGz = oursGz.cpuUs / best('cpuUs');
console.log(`\ntotal CPU per event vs best peer: ${ratio.toFixed(3)}× with defaults, ${ratioGz.toFixed(3)}× with gzip forced on (target ≤ 0.1×) → ${ratio <= 0.1 ? 'MET' : 'NOT MET'} / ${ratioGz <= 0.1 ? 'MET' : 'NOT MET'}`);
console.log(`synchronous track(): ${ours.syncCpuNs.toFixed(0)} ns CPU per call, median of trials (target ≤ 1,000 ns) → ${ours.syncCpuNs <= 1000 ? 'MET' : 'NOT MET'}`);
if (rows.some((r) => r.received !== r.events)) console.log('WARNING: some SDK did not deliver every event to the sink');
