import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Measurement } from '../src/middleware/record.ts';
import { measureRequest } from '../src/middleware/record.ts';

/** A node:http server measuring every request with measureRequest; `handle` answers it. */
async function serve(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const done: Measurement<string>[] = [];
  const server = http.createServer((req, res) => {
    if (req.headers['x-skip'] === undefined) measureRequest(req, res, req.url ?? '', (m) => done.push(m));
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { url, done, port: (server.address() as AddressInfo).port };
}
const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});
const until = async (f: () => boolean) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('measureRequest on node:http (prototype counters)', () => {
  it('counts streamed writes, the end chunk, chunked request bodies; HEAD and 204 carry 0 bytes', async () => {
    const { url, done } = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/stream') {
          res.write('abc');
          res.write(Buffer.from('de'));
          res.end('fgh');
        } else if (req.url === '/none') {
          res.statusCode = 204;
          res.end();
        } else res.end('héllo'); // 6 bytes in UTF-8
      });
    });
    await (await fetch(`${url}/stream`)).text();
    await (await fetch(`${url}/utf8`, { method: 'POST', body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('12345')), c.close()) }), duplex: 'half' } as RequestInit)).text();
    await fetch(`${url}/utf8`, { method: 'HEAD' });
    await fetch(`${url}/none`);
    await until(() => done.length === 4);
    const by = (ctx: string, method: string) => done.find((m) => m.ctx === ctx && m.req.method === method);
    expect(by('/stream', 'GET')).toMatchObject({ status: 200, responseBytes: 8, requestBytes: 0, aborted: false });
    expect(by('/utf8', 'POST')).toMatchObject({ status: 200, responseBytes: 6, requestBytes: 5 });
    expect(by('/utf8', 'HEAD')).toMatchObject({ responseBytes: 0 });
    expect(by('/none', 'GET')).toMatchObject({ status: 204, responseBytes: 0 });
  });

  it('reports a connection closed before the response was complete as aborted, once', async () => {
    const { port, done } = await serve((_req, res) => {
      res.write('partial');
      setTimeout(() => res.destroyed || res.end('late'), 300);
    });
    await new Promise<void>((resolve) => {
      const r = http.get({ port, host: '127.0.0.1', path: '/slow' }, (res) => {
        res.once('data', () => {
          r.destroy();
          resolve();
        });
      });
      r.on('error', () => undefined);
    });
    await until(() => done.length === 1);
    await new Promise((r) => setTimeout(r, 400));
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ aborted: true, responseBytes: 7 });
  });

  it('counts what an instance-level wrapper (compression-like) finally writes, and leaves unmeasured responses alone', async () => {
    const { url, done } = await serve((req, res) => {
      const end = res.end as (this: http.ServerResponse, chunk: string) => http.ServerResponse;
      // A middleware replacing end() on the instance, calling through with a different body.
      res.end = function (this: http.ServerResponse) {
        return end.call(this, 'wrapped!');
      } as typeof res.end;
      res.end('original body');
      void req;
    });
    expect(await (await fetch(`${url}/w`)).text()).toBe('wrapped!');
    expect(await (await fetch(`${url}/skip`, { headers: { 'x-skip': '1' } })).text()).toBe('wrapped!');
    await until(() => done.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ ctx: '/w', responseBytes: 8, status: 200 });
  });
});
