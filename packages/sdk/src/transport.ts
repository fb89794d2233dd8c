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
  }

  /** Sends a CloudEvents batch body (`[json,json,…]`, see batchBody()). */
  post(raw: Buffer): Attempt {
    let req: http.ClientRequest | undefined;
    let aborted = false;
    const result = this.encode(raw).then(
      ({ body, encoded }) =>
        new Promise<HttpResult>((resolve) => {
          if (aborted) return resolve({ kind: 'network', code: 'ABORTED', message: 'aborted at shutdown' });
          const headers: http.OutgoingHttpHeaders = {
            authorization: `Bearer ${this.apiKey}`,
            'content-type': 'application/cloudevents-batch+json',
            'content-length': body.length,
          };
          if (encoded) headers['content-encoding'] = 'gzip';
          req = this.request(this.url, { method: 'POST', agent: this.agent, headers, timeout: this.timeoutMs }, (res) => {
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
          req.end(body);
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

  private encode(raw: Buffer): Promise<{ body: Buffer; encoded: boolean }> {
    const gz = this.gzipOpts;
    if (!gz || raw.length < gz.minBytes) return Promise.resolve({ body: raw, encoded: false });
    // zlib's async API compresses on the libuv pool, off the host's event loop.
    return new Promise((resolve) => {
      gzip(raw, { level: gz.level }, (err, out) => resolve(err ? { body: raw, encoded: false } : { body: out, encoded: true }));
    });
  }
}
