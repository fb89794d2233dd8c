/**
 * A light HTTP/1.1 load generator for the middleware bench: `connections` keep-alive sockets,
 * each sending the same GET again as soon as the previous answer is complete (no pipelining).
 * It parses only what it must (status line, Content-Length) and keeps no histograms, so it does
 * far less per request than autocannon and leaves the host under test as much CPU as it can.
 * Responses must carry Content-Length (a hello-world does); anything else counts as an error.
 */
import net from 'node:net';

/** What one run produced. */
export interface LoadResult {
  /** Complete answers received. */
  requests: number;
  /** Answers per second over the run. */
  rps: number;
  /** Answers with a status outside 2xx. */
  non2xx: number;
  /** Socket errors and unparseable answers. */
  errors: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Drives `url` for `seconds` from `connections` sockets, sending `headers` with each GET. */
export function load(url: string, opts: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const u = new URL(url);
  const head = [`GET ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`, ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  const request = Buffer.from(head, 'latin1');
  const result: LoadResult = { requests: 0, rps: 0, non2xx: 0, errors: 0 };
  const started = performance.now();
  let running = true;
  let open = 0;
  return new Promise((resolve) => {
    const done = () => {
      if (--open > 0) return;
      result.rps = result.requests / ((performance.now() - started) / 1000);
      resolve(result);
    };
    for (let c = 0; c < opts.connections; c++) {
      open++;
      const socket = net.connect(Number(u.port), u.hostname);
      socket.setNoDelay(true);
      let pending: Buffer | undefined;
      const fail = () => {
        result.errors++;
        socket.destroy();
      };
      socket.on('connect', () => socket.write(request));
      socket.on('data', (chunk: Buffer) => {
        let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = undefined;
        for (;;) {
          const end = buf.indexOf(HEADER_END);
          if (end < 0) break;
          const header = buf.toString('latin1', 0, end).toLowerCase();
          const at = header.indexOf('\r\ncontent-length:');
          if (!header.startsWith('http/1.1 ') || at < 0) return fail();
          const length = Number.parseInt(header.slice(at + 17), 10);
          const total = end + 4 + length;
          if (buf.length < total) break;
          const status = Number(header.slice(9, 12));
          if (status < 200 || status > 299) result.non2xx++;
          result.requests++;
          buf = buf.subarray(total);
          if (running) socket.write(request);
          else return void socket.end();
        }
        if (buf.length > 0) pending = buf;
      });
      socket.on('error', fail);
      socket.on('close', done);
    }
    setTimeout(() => {
      running = false;
    }, opts.seconds * 1000);
  });
}
