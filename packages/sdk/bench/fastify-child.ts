/** A Fastify hello-world host, with (`tally`) or without (`plain`) the middleware. Prints its URL. */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { createClient } from '../src/index.ts';
import { tallyFastify } from '../src/fastify.ts';

const [, , mode = 'plain', sinkUrl = ''] = process.argv;
const app = Fastify();
const client = mode === 'tally' ? createClient({ endpoint: sinkUrl, apiKey: 'bench-key' }) : undefined;
if (client) await app.register(tallyFastify({ client, tenant: (req) => req.headers['x-tenant'] as string | undefined }));
let served = 0;
app.get('/hello/:name', async () => {
  served++;
  return { hello: 'world' };
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}\n`);
// Host CPU per request served: robust to the load generator competing for the same cores.
let cpu0 = process.cpuUsage();
process.on('SIGUSR2', () => {
  served = 0;
  cpu0 = process.cpuUsage();
});
process.on('SIGTERM', () => {
  void (async () => {
    const cpu = process.cpuUsage(cpu0);
    await app.close();
    const r = await client?.shutdown({ timeout: 10_000 }); // delivery after the window is not charged
    process.stdout.write(`${JSON.stringify({ served, cpuUsPerRequest: (cpu.user + cpu.system) / served })}\n`);
    process.stderr.write(r ? `[tally] ${JSON.stringify({ delivered: r.delivered, lost: r.lost })}\n` : '');
    process.exit(0);
  })();
});
