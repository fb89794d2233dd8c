/**
 * The hostile clients and probes of bench:overload: gzip batch bodies, bursts over many
 * connections, a /healthz poller, an RSS sampler, slowloris connections and a slow chunked body.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { DemoTraffic } from '../src/demo/generator.ts';

/** One request body of the bench: its id prefix (every event id is `<prefix>-<n>`), events and bytes. */
export interface Body {
  prefix: string;
  events: number;
  gz: Buffer;
  rawBytes: number;
}

/**
 * A gzip batch of demo events, each padded with a `blob` of `blobLen` random characters from
 * `alphabet` (random base64 keeps the gzip ratio near the 1 MiB → 1.6 MiB).
 */
export function makeBody(prefix: string, events: number, blobLen: number, alphabet: 'base64' | 'hex', seed: number): Body {
  const traffic = new DemoTraffic({ tenants: 50, seed });
  const now = Date.now() - 60_000;
  const bytesNeeded = alphabet === 'base64' ? Math.ceil((blobLen * 3) / 4) : Math.ceil(blobLen / 2);
  const list = Array.from({ length: events }, (_, i) => {
    const e = traffic.next(now + i);
    const blob = randomBytes(bytesNeeded).toString(alphabet).slice(0, blobLen);
    return { ...e, id: `${prefix}-${i}`, data: { ...e.data, blob } };
  });
  const raw = Buffer.from(JSON.stringify(list));
  return { prefix, events, gz: gzipSync(raw, { level: 1 }), rawBytes: raw.length };
}

/** What the server answered one request (status 0: the connection failed; `error` says how). */
export interface Answer {
  prefix: string;
  status: number;
  accepted: number;
  error?: string;
}

/** Sends bodies one after another over one kept-alive connection of its own. */
export async function sendOverOneConnection(url: string, key: string, bodies: Body[]): Promise<Answer[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: Answer[] = [];
  for (const b of bodies) out.push(await postGzip(url, key, b, agent));
  agent.destroy();
  return out;
}

function postGzip(url: string, key: string, b: Body, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json', 'content-encoding': 'gzip', 'content-length': String(b.gz.length) };
    const req = http.request(`${url}/v1/events`, { method: 'POST', agent, headers, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let accepted = 0;
        if (res.statusCode === 200) accepted = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { accepted: number }).accepted;
        resolve({ prefix: b.prefix, status: res.statusCode ?? 0, accepted });
      });
      res.on('error', (err) => resolve({ prefix: b.prefix, status: 0, accepted: 0, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ prefix: b.prefix, status: 0, accepted: 0, error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(b.gz);
  });
}

/**
 * Polls `GET /healthz` back to back, at most every `everyMs`, until stopped; keeps each latency
 * (a timeout counts as its full wait). It runs in a worker thread: the load this process
 * generates must not delay the probe's own event loop and pass for the server's latency.
 */
export function pollHealth(url: string, fresh = false, everyMs = 20, timeoutMs = 10_000): { ready: Promise<void>; stop: () => Promise<number[]> } {
  const worker = new Worker(POLLER, { eval: true, workerData: { url, everyMs, timeoutMs, fresh } });
  let ready!: () => void;
  const result = new Promise<number[]>((resolve, reject) => {
    worker.on('message', (m: number[] | 'ready') => (m === 'ready' ? ready() : resolve(m)));
    worker.once('error', reject);
  });
  return {
    // The first poll (connection set up, worker warm) before the load starts: it is not counted.
    ready: new Promise<void>((r) => (ready = r)),
    stop: async () => {
      worker.postMessage('stop');
      const latencies = await result;
      await worker.terminate();
      return latencies;
    },
  };
}

const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, everyMs, timeoutMs, fresh } = workerData;
// fresh: a new connection per poll, as kubelet's probes do; otherwise one kept-alive connection.
const agent = fresh ? false : new http.Agent({ keepAlive: true, maxSockets: 1 });
const latencies = [];
let running = true;
parentPort.on('message', () => (running = false));
const once = () => new Promise((resolve) => {
  const t0 = performance.now();
  const done = () => { latencies.push(performance.now() - t0); resolve(); };
  const req = http.get(url + '/healthz', { agent, timeout: timeoutMs }, (res) => { res.resume(); res.on('end', done); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', done);
});
(async () => {
  await once();
  latencies.length = 0;
  parentPort.postMessage('ready');
  while (running) {
    const t0 = performance.now();
    await once();
    const wait = everyMs - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  if (agent) agent.destroy();
  parentPort.postMessage(latencies);
})();
`;

/** `VmRSS` and `VmHWM` of a process in MB (Linux /proc). */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Samples VmRSS every `everyMs` and resets the peak (`clear_refs` 5) at start, so VmHWM is this phase's peak too. */
export function sampleRss(pid: number, everyMs = 20): { stop: () => number } {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not permitted: the sampled maximum still counts */
  }
  let max = memory(pid).rss;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, memory(pid).rss);
    } catch {
      /* exited */
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      try {
        return Math.max(max, memory(pid).hwm);
      } catch {
        return max;
      }
    },
  };
}

/**
 * Opens `n` connections that send a request's headers one byte every `byteEveryMs` and never
 * finish them; resolves with how long each stayed open (Infinity: still open after `windowMs`).
 */
export async function slowloris(url: string, n: number, byteEveryMs: number, windowMs: number): Promise<number[]> {
  const { hostname, port } = new URL(url);
  const head = Buffer.from(`POST /v1/events HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${'X-Padding: slow\r\n'.repeat(200)}`);
  return Promise.all(
    Array.from({ length: n }, () =>
      new Promise<number>((resolve) => {
        const t0 = performance.now();
        const sock = net.connect(Number(port), hostname);
        let i = 0;
        const timer = setInterval(() => {
          if (i < head.length && !sock.destroyed) sock.write(head.subarray(i, ++i));
        }, byteEveryMs);
        const window = setTimeout(() => sock.destroy(), windowMs);
        let cut = true;
        window.unref();
        sock.on('error', () => undefined);
        sock.on('data', () => undefined);
        sock.on('end', () => sock.destroy());
        sock.on('close', () => {
          clearInterval(timer);
          clearTimeout(window);
          if (performance.now() - t0 >= windowMs - 5) cut = false;
          resolve(cut ? performance.now() - t0 : Infinity);
        });
      }),
    ),
  );
}

/**
 * A valid ingest request whose chunked body arrives one byte every `byteEveryMs`. Resolves with
 * how long the server let it run and what it answered (0: closed without an answer). A body
 * the server never cuts is finished after `windowMs`, and then its answer shows (the bug: 200).
 */
export function slowChunkedBody(url: string, key: string, byteEveryMs: number, windowMs: number): Promise<{ ms: number; status: number; code?: string }> {
  const { hostname, port } = new URL(url);
  const body = Buffer.from(JSON.stringify({ specversion: '1.0', id: `slow-${Date.now()}`, source: 'bench', type: 'api.request', subject: 'slow-tenant', time: new Date().toISOString(), data: { route: '/slow' } }));
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(Number(port), hostname);
    let answer = '';
    let i = 0;
    sock.write(`POST /v1/events HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const timer = setInterval(() => {
      if (sock.destroyed) return;
      if (performance.now() - t0 >= windowMs || i >= body.length) {
        clearInterval(timer);
        sock.write(`${(body.length - i).toString(16)}\r\n`);
        sock.write(body.subarray(i));
        sock.write('\r\n0\r\n\r\n');
        i = body.length;
        return;
      }
      sock.write(`1\r\n${body.subarray(i, ++i).toString('latin1')}\r\n`);
    }, byteEveryMs);
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => {
      answer += c.toString('latin1');
      const head = answer.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(answer)?.[1] ?? 0);
      if (head >= 0 && answer.length >= head + 4 + length) sock.end();
    });
    sock.on('close', () => {
      clearInterval(timer);
      const code = /"code":"([A-Z_]+)"/.exec(answer)?.[1];
      resolve({ ms: performance.now() - t0, status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0), ...(code ? { code } : {}) });
    });
  });
}

/** p-th percentile (0–100) of numbers. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
