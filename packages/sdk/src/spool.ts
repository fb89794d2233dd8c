import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const NL = Buffer.from('\n');

/**
 * An append-only file of un-acknowledged events: a line `{…}` per tracked event and a line
 * `-["id",…]` per batch of events that were resolved (acknowledged, rejected or dropped).
 * Replaying it gives back exactly the unresolved events, with their original ids, so re-sending
 * them after a crash is safe. Writes are synchronous so that an event is in the OS page cache
 * once track() returns: a SIGKILL right after loses nothing (a power cut may; there is no fsync).
 */
export class Spool {
  private fd: number;
  private size = 0;
  private resolved: string[] = [];
  private broken = false;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly onFailure: (err: Error) => void,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  /** The events left unresolved by earlier processes, oldest first. */
  load(): [id: string, json: string][] {
    const pending = new Map<string, string>();
    if (!existsSync(this.path)) return [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      try {
        if (line.startsWith('{')) {
          // appendBytes() writes events as they sit in the client's slab, with a trailing comma.
          const json = line.endsWith(',') ? line.slice(0, -1) : line;
          const id = (JSON.parse(json) as { id?: unknown }).id;
          if (typeof id === 'string') pending.set(id, json);
        } else if (line.startsWith('-')) {
          for (const id of JSON.parse(line.slice(1)) as string[]) pending.delete(id);
        }
      } catch {
        // A line torn by a crash mid-write: its event was never reported as tracked.
      }
    }
    return [...pending];
  }

  /** Appends one event; compacts first (from `live`) when the file would outgrow its bound. */
  append(json: string, bytes: number, live: () => Iterable<[string, string | Uint8Array]>): void {
    if (this.broken) return;
    if (this.size + bytes + 1 > this.maxBytes) this.rewrite(live());
    this.write(json + '\n', bytes + 1);
  }

  /**
   * Appends one event given as `len` bytes of `buf` at `off` that already end with `,\n` (the
   * client's slab layout): one write(2), no string. Compacts first when the file would outgrow its bound.
   */
  appendBytes(buf: Buffer, off: number, len: number, live: () => Iterable<[string, string | Uint8Array]>): void {
    if (this.broken) return;
    if (this.size + len > this.maxBytes) this.rewrite(live());
    if (this.broken) return;
    try {
      writeSync(this.fd, buf, off, len);
      this.size += len;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Marks events resolved; written on the next sync() so drops in track() cost no syscall. */
  resolve(ids: string[]): void {
    if (!this.broken) for (const id of ids) this.resolved.push(id);
  }

  /** Writes pending resolutions. */
  sync(): void {
    if (this.broken || this.resolved.length === 0) return;
    const line = '-' + JSON.stringify(this.resolved) + '\n';
    this.resolved = [];
    this.write(line, Buffer.byteLength(line));
  }

  /** Replaces the file with exactly `live` (the unresolved events), atomically via rename. */
  rewrite(live: Iterable<[string, string | Uint8Array]>): void {
    if (this.broken) return;
    try {
      const tmp = this.path + '.tmp';
      const fd = openSync(tmp, 'w');
      let size = 0;
      let chunk: Uint8Array[] = [];
      const flush = () => {
        size += writeSync(fd, Buffer.concat(chunk));
        chunk = [];
      };
      for (const [, json] of live) {
        chunk.push(typeof json === 'string' ? Buffer.from(json, 'utf8') : json, NL);
        if (chunk.length >= 2048) flush();
      }
      flush();
      closeSync(fd);
      renameSync(tmp, this.path);
      closeSync(this.fd);
      this.fd = openSync(this.path, 'a');
      this.size = size;
      this.resolved = [];
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Bytes in the file. */
  get bytes(): number {
    return this.size;
  }

  /** Writes pending resolutions and closes the file. */
  close(): void {
    this.sync();
    if (!this.broken) closeSync(this.fd);
    this.broken = true;
  }

  private write(text: string, bytes: number): void {
    try {
      writeSync(this.fd, text);
      this.size += bytes;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private fail(err: Error): void {
    // Disk full or gone: keep delivering from memory rather than hurt the host; say so once.
    this.broken = true;
    this.onFailure(err);
  }
}
