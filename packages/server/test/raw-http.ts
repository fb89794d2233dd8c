import net from 'node:net';

/** What the server answered on a raw connection (status 0: it closed without answering). */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * An HTTP/1.1 request written by hand on its own TCP connection, so a test can stop half-way
 * through the headers or the body, as slow and hostile clients do.
 */
export class RawRequest {
  readonly socket: net.Socket;
  /** Settles once the server answered or closed the connection. */
  readonly answer: Promise<RawAnswer>;
  /** Settles once the connection is closed (by either side). */
  readonly closed: Promise<void>;
  private received = '';

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = net.connect(Number(port), hostname);
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.answer = new Promise((resolve) => {
      const done = () => resolve(parseAnswer(this.received));
      this.socket.on('data', (c: Buffer) => {
        this.received += c.toString('latin1');
        const a = parseAnswer(this.received);
        if (a.status !== 0 && Buffer.byteLength(a.body, 'latin1') >= Number(a.headers['content-length'] ?? Infinity)) done();
      });
      this.socket.once('close', done);
    });
  }

  /** Writes text or bytes now. */
  write(data: string | Buffer): this {
    if (!this.socket.destroyed) this.socket.write(data);
    return this;
  }

  /** Writes `data` one byte every `everyMs` until all is written or the connection closes; resolves with the bytes written. */
  async trickle(data: string | Buffer, everyMs: number): Promise<number> {
    const buf = Buffer.from(data);
    let i = 0;
    while (i < buf.length && !this.socket.destroyed) {
      this.socket.write(buf.subarray(i, ++i));
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return i;
  }

  /** Hangs up. */
  destroy(): void {
    this.socket.destroy();
  }
}

function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '' };
  const [line, ...fields] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const c = f.indexOf(':');
    headers[f.slice(0, c).trim().toLowerCase()] = f.slice(c + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(line ?? '')?.[1] ?? 0), headers, body: text.slice(end + 4) };
}

/** The request line and headers of a POST, ending with the blank line. */
export function postHead(path: string, headers: Record<string, string | number>): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}
