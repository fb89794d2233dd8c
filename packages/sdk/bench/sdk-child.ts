/**
 * Measures one SDK in a fresh process (run with --expose-gc): warm-up, then ROUNDS rounds of N
 * calls. Per round: synchronous ns/call of the call loop, retained heap growth right after the
 * loop (after GC), and total process CPU (user+system, all threads, including serialisation,
 * compression and HTTP; excluding the bench's own forced GC) per event until the SDK reports
 * everything sent. Prints one JSON line with the median round.
 */
import { PostHog } from 'posthog-node';
import { Analytics } from '@segment/analytics-node';
import { createClient } from '../src/index.ts';

const [, , sdk = 'tally', sinkUrl = '', nArg = '20000', roundsArg = '5'] = process.argv;
const N = Number(nArg);
const ROUNDS = Number(roundsArg);
const props = { route: '/users/:id', method: 'GET', status: 200, durationMs: 12.3, requestBytes: 0, responseBytes: 512 };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

interface Sdk {
  track(i: number): void;
  drain(): Promise<void>;
}

function make(): Sdk {
  if (sdk === 'tally') {
    const c = createClient({ endpoint: sinkUrl, apiKey: 'bench-key', maxQueueEvents: 1_000_000, maxQueueBytes: 1 << 30, ...(process.env.TALLY_GZIP === '0' ? { gzip: false } : process.env.TALLY_GZIP === '1' ? { gzip: true } : {}) });
    return {
      track: () => void c.track({ type: 'api.request', tenant: 'acme', actor: 'user-123', properties: props }),
      drain: async () => {
        const r = await c.flush({ timeout: 60_000 });
        if (!r.drained || c.stats().dropped > 0) throw new Error(`tally lost events: ${JSON.stringify(c.stats())}`);
      },
    };
  }
  if (sdk === 'posthog-node') {
    // Batching matched to ours (the defaults, 20/100 per request, would only make it slower).
    const ph = new PostHog('bench-key', { host: sinkUrl, flushAt: 2000, maxBatchSize: 2000, maxQueueSize: 1_000_000, flushInterval: 100 });
    return {
      track: () => ph.capture({ distinctId: 'user-123', event: 'api.request', properties: { ...props, tenant: 'acme' } }),
      drain: () => ph.flush(),
    };
  }
  const an = new Analytics({ writeKey: 'bench-key', host: sinkUrl, path: '/v1/batch', maxEventsInBatch: 2000, flushInterval: 100 });
  return {
    track: () => an.track({ userId: 'user-123', event: 'api.request', properties: { ...props, tenant: 'acme' } }),
    drain: () => an.flush({ timeout: 60_000 }) as Promise<void>,
  };
}

async function round(s: Sdk, n: number) {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) s.track(i);
  const syncNs = Number(process.hrtime.bigint() - t0) / n;
  // Wall time of the loop includes time this process waited for a core on a busy machine; the
  // CPU it used (all threads, but nothing else runs during a synchronous loop) does not.
  const loopCpu = process.cpuUsage(cpu0);
  const syncCpuNs = ((loopCpu.user + loopCpu.system) * 1000) / n;
  // The forced full GC below is the bench's (to read retained heap), not the SDK's: its CPU is
  // left out, for every SDK alike. Collections the SDK causes by itself stay in.
  const gcCpu0 = process.cpuUsage();
  gc();
  const gcCpu = process.cpuUsage(gcCpu0);
  const heapPerEvent = (process.memoryUsage().heapUsed - heap0) / n;
  await s.drain();
  const cpu = process.cpuUsage(cpu0);
  return { syncNs, syncCpuNs, cpuUs: (cpu.user + cpu.system - gcCpu.user - gcCpu.system) / n, heapPerEvent };
}

const s = make();
await round(s, 5_000); // warm-up: JIT, sockets
const rounds: Awaited<ReturnType<typeof round>>[] = [];
for (let r = 0; r < ROUNDS; r++) rounds.push(await round(s, N));
const median = (k: 'syncNs' | 'syncCpuNs' | 'cpuUs' | 'heapPerEvent') => rounds.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rounds.length / 2)] as number;
process.stdout.write(JSON.stringify({ sdk, events: 5_000 + N * ROUNDS, syncNs: median('syncNs'), syncCpuNs: median('syncCpuNs'), cpuUs: median('cpuUs'), heapPerEvent: median('heapPerEvent') }) + '\n');
process.exit(0);
