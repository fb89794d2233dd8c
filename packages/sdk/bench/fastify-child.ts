/**
 * The middleware bench's host: ONE process serving the same Fastify hello-world twice, on two
 * ports: `plain` without the middleware and `tally` with tallyFastify. Both share everything
 * else (process, JIT, heap, sink, neighbours), so a slice of load on one and then the other
 * compares exactly what the middleware adds. Driven over IPC: `start` opens a CPU window, `stop`
 * closes it (for `tally`, only after the client has delivered everything tracked in the window,
 * so serialisation, gzip and sending are charged to it) and answers
 * `{ served, cpuUs, userUs, sysUs }` per request.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { createClient } from '../src/index.ts';
import { tallyFastify } from '../src/fastify.ts';

const [, , sinkUrl = ''] = process.argv;
const client = createClient({ endpoint: sinkUrl, apiKey: 'bench-key', ...(process.env.TALLY_GZIP === '0' ? { gzip: false } : process.env.TALLY_GZIP === '1' ? { gzip: true } : {}) });
const served = { plain: 0, tally: 0 };

async function host(mode: 'plain' | 'tally'): Promise<string> {
  const app = Fastify();
  if (mode === 'tally') await app.register(tallyFastify({ client, tenant: (req) => req.headers['x-tenant'] as string | undefined }));
  app.get('/hello/:name', async () => {
    served[mode]++;
    return { hello: 'world' };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const urls = { plain: await host('plain'), tally: await host('tally') };
let cpu0 = process.cpuUsage();
process.on('message', (m: { cmd: 'start' | 'stop'; mode: 'plain' | 'tally' }) => {
  void (async () => {
    if (m.cmd === 'start') {
      served.plain = served.tally = 0;
      cpu0 = process.cpuUsage();
      process.send?.({ ok: true });
      return;
    }
    if (m.mode === 'tally') {
      const r = await client.flush({ timeout: 30_000 });
      if (!r.drained || r.lost > 0) process.stderr.write(`[tally] flush: ${JSON.stringify(r)}\n`);
    }
    const cpu = process.cpuUsage(cpu0);
    const n = served[m.mode];
    process.send?.({ served: n, cpuUs: (cpu.user + cpu.system) / n, userUs: cpu.user / n, sysUs: cpu.system / n, stats: client.stats() });
  })();
});
process.send?.(urls);
