import http from 'node:http';
import https from 'node:https';
import { gzip } from 'node:zlib';

/** What one HTTP attempt produced. */
export type HttpResult =
  | { kind: 'response'; status: number; body: string; retryAfter: string | undefined }
  | { kind: 'network'; code: string; message: string };

/** An HTTP attempt that can be abandoned (at shutdown). */
export interface Attempt {
  result: Promise<HttpResult>;
  abort(): void;
}

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Posts CloudEvents batches over one keep-alive agent; never rejects, every failure is a result. */
export class Transport {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  /** Host, port and path of the endpoint, split once: passing the URL made Node split it per request. */
  private readonly target: http.RequestOptions;

  constructor(
    private readonly url: URL,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
    private readonly gzipOpts: { minBytes: number; level: number } | undefined,
    maxSockets: number,
  ) {
    const secure = url.protocol === 'https:';
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets });
    this.request = secure ? https.request : http.request;
    this.target = { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || undefined, path: url.pathname + url.search, auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined };
  }

  /**
   * Sends a CloudEvents batch body (`[json,json,…]`) given as `chunks` of `length` bytes in all
   * (see batchChunks()): written as they are, or joined and compressed when gzip applies.
   */
  post(chunks: Buffer[], length: number): Attempt {
    let req: http.ClientRequest | undefined;
    let aborted = false;
    const result = this.encode(chunks, length).then(
      ({ body, encoded }) =>
        new Promise<HttpResult>((resolve) => {
          if (aborted) return resolve({ kind: 'network', code: 'ABORTED', message: 'aborted at shutdown' });
          const headers: http.OutgoingHttpHeaders = {
            authorization: `Bearer ${this.apiKey}`,
            'content-type': 'application/cloudevents-batch+json',
            'content-length': encoded ? (body as Buffer).length : length,
          };
          if (encoded) headers['content-encoding'] = 'gzip';
          req = this.request({ ...this.target, method: 'POST', agent: this.agent, headers, timeout: this.timeoutMs }, (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
            });
            res.on('end', () => {
              const ra = res.headers['retry-after'];
              resolve({ kind: 'response', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: ra });
            });
            res.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'network', code: e.code ?? 'ERESPONSE', message: e.message }));
          });
          req.on('timeout', () => req?.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
          req.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'network', code: e.code ?? 'ENETWORK', message: e.message }));
          if (encoded) req.end(body as Buffer);
          else {
            for (const c of body as Buffer[]) req.write(c);
            req.end();
          }
        }),
    );
    return {
      result,
      abort: () => {
        aborted = true;
        req?.destroy(Object.assign(new Error('aborted at shutdown'), { code: 'ABORTED' }));
      },
    };
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private encode(chunks: Buffer[], length: number): Promise<{ body: Buffer | Buffer[]; encoded: boolean }> {
    const gz = this.gzipOpts;
    if (!gz || length < gz.minBytes) return Promise.resolve({ body: chunks, encoded: false });
    const raw = Buffer.concat(chunks, length);
    // zlib's async API compresses on the libuv pool, off the host's event loop.
    return new Promise((resolve) => {
      gzip(raw, { level: gz.level }, (err, out) => resolve(err ? { body: [raw], encoded: false } : { body: out, encoded: true }));
    });
  }
}
