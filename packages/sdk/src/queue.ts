import { SlabWriter } from './encode.ts';
import { ID_OFFSET } from './bytes.ts';

/**
 * A batch of serialised events taken from the queue, kept in parallel arrays to avoid per-event
 * objects. Event `k` is the `lens[k]` bytes at `offs[k]` of `slabs[k]`, followed there by `,\n`.
 */
export interface Batch {
  /** Undefined for a generated id not needed as a string yet: see {@link idsOf}. */
  ids: (string | undefined)[];
  slabs: Buffer[];
  offs: number[];
  lens: number[];
  /** Bytes counted against the queue's byte bound (the serialised size). */
  bytes: number[];
  /** When each event first failed to send (ms), or NaN if it never did. */
  failedAt: number[];
  /** Arrival order in the queue (increasing), so a failed batch goes back where it belongs. */
  seqs: number[];
  /** Sum of `bytes`. */
  totalBytes: number;
}

/**
 * The id of an event whose id was generated into its bytes (see bytes.ts): the middleware's
 * events get no id string unless one is asked for (a drop report, the spool), which is rare.
 */
function idIn(slab: Buffer, off: number): string {
  return slab.toString('latin1', off + ID_OFFSET, off + ID_OFFSET + 36);
}

/** The batch's ids as strings, made now for events that had none yet. */
export function idsOf(b: Batch): string[] {
  const ids = b.ids;
  for (let k = 0; k < ids.length; k++) if (ids[k] === undefined) ids[k] = idIn(b.slabs[k] as Buffer, b.offs[k] as number);
  return ids as string[];
}

/** Called with the ids of events evicted to make room. */
export type Evict = (ids: string[]) => void;

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

/**
 * The request body for a batch, `[e1,\ne2,\n…]`, as slices of the slabs the events sit in (no
 * copy): events tracked one after another sit next to each other with their `,\n` separators,
 * so a batch is a few runs, written with one writev.
 */
export function batchChunks(b: Batch): { chunks: Buffer[]; length: number } {
  const n = b.ids.length;
  const chunks: Buffer[] = [OPEN];
  let length = 2;
  let k = 0;
  while (k < n) {
    const slab = b.slabs[k] as Buffer;
    const start = b.offs[k] as number;
    let end = start + (b.lens[k] as number);
    let j = k + 1;
    // Extend the run while the next event starts right after this one's separator.
    while (j < n && b.slabs[j] === slab && b.offs[j] === end + 2) end = (b.offs[j] as number) + (b.lens[j++] as number);
    if (j < n) end += 2; // this run's last separator, before the next run
    chunks.push(slab.subarray(start, end));
    length += end - start;
    k = j;
  }
  chunks.push(CLOSE);
  return { chunks, length };
}

/** The request body for a batch as one buffer (for compression); see {@link batchChunks}. */
export function batchBody(b: Batch): Buffer {
  const { chunks, length } = batchChunks(b);
  return Buffer.concat(chunks, length);
}

/**
 * A double-ended ring buffer of serialised events bounded in count and bytes. push() evicts the
 * oldest events when a bound would be exceeded; every operation is O(1) amortised. The events'
 * bytes live in slabs outside the JS heap; the queue holds only their ids and positions.
 */
export class EventQueue {
  /** Where the client writes events before pushing them (see {@link pushEncoded}). */
  readonly writer = new SlabWriter();
  private ids: (string | undefined)[] = new Array<string | undefined>(16);
  private slabs: (Buffer | undefined)[] = new Array<Buffer | undefined>(16);
  private offs: number[] = new Array<number>(16).fill(0);
  private lens: number[] = new Array<number>(16).fill(0);
  private sizes: number[] = new Array<number>(16).fill(0);
  private failed: number[] = new Array<number>(16).fill(NaN);
  private seqs: number[] = new Array<number>(16).fill(0);
  private seq = 0;
  private head = 0;
  private count = 0;
  private byteCount = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /** Events held. */
  get length(): number {
    return this.count;
  }

  /** Serialised bytes held. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Appends `json` (counted as `bytes` against the bound) at the tail; returns the evicted ids. */
  push(id: string, json: string, bytes: number, failedAt = NaN): string[] | undefined {
    const w = this.writer;
    const len = w.write(json);
    const slab = w.buf;
    return this.pushEncoded(id, slab, w.commit(len), len, bytes, failedAt);
  }

  /**
   * Appends an event already written to a slab at the tail, first evicting from the head until it
   * fits; returns the evicted ids.
   */
  pushEncoded(id: string | undefined, slab: Buffer, off: number, len: number, bytes = len, failedAt = NaN): string[] | undefined {
    const evicted = this.count + 1 > this.maxEvents || this.byteCount + bytes > this.maxBytes ? this.makeRoom(1, bytes) : undefined;
    if (this.count === this.ids.length) this.grow();
    const i = (this.head + this.count) & (this.ids.length - 1);
    this.ids[i] = id;
    this.slabs[i] = slab;
    this.offs[i] = off;
    this.lens[i] = len;
    this.sizes[i] = bytes;
    this.failed[i] = failedAt;
    this.seqs[i] = this.seq++;
    this.count++;
    this.byteCount += bytes;
    return evicted;
  }

  /**
   * Puts a failed batch back at the head, behind any older batch that failed before it (with
   * requests in parallel, a newer batch can fail first), then evicts from the head while over a
   * bound, so the events that have waited longest are the ones dropped.
   */
  unshiftBatch(b: Batch): string[] | undefined {
    const first = b.seqs[0];
    let older = 0;
    const mask = this.ids.length - 1;
    while (first !== undefined && older < this.count && (this.seqs[(this.head + older) & mask] as number) < first) older++;
    const ahead = older > 0 ? this.take(older, Infinity) : undefined;
    this.unshiftRaw(b);
    if (ahead) this.unshiftRaw(ahead);
    return this.makeRoom(0, 0);
  }

  private unshiftRaw(b: Batch): void {
    for (let k = b.ids.length - 1; k >= 0; k--) {
      if (this.count === this.ids.length) this.grow();
      const i = (this.head = (this.head - 1) & (this.ids.length - 1));
      this.ids[i] = b.ids[k];
      this.slabs[i] = b.slabs[k];
      this.offs[i] = b.offs[k] as number;
      this.lens[i] = b.lens[k] as number;
      this.sizes[i] = b.bytes[k] as number;
      this.failed[i] = b.failedAt[k] as number;
      this.seqs[i] = b.seqs[k] as number;
      this.count++;
      this.byteCount += b.bytes[k] as number;
    }
  }

  /** Removes up to `maxEvents` / `maxBytes` from the head (always at least one event if any). */
  take(maxEvents: number, maxBytes: number): Batch {
    const b: Batch = { ids: [], slabs: [], offs: [], lens: [], bytes: [], failedAt: [], seqs: [], totalBytes: 0 };
    const mask = this.ids.length - 1;
    while (this.count > 0 && b.ids.length < maxEvents) {
      const h = this.head;
      const size = this.sizes[h] as number;
      if (b.ids.length > 0 && b.totalBytes + size > maxBytes) break;
      b.ids.push(this.ids[h]);
      b.slabs.push(this.slabs[h] as Buffer);
      b.offs.push(this.offs[h] as number);
      b.lens.push(this.lens[h] as number);
      b.bytes.push(size);
      b.failedAt.push(this.failed[h] as number);
      b.seqs.push(this.seqs[h] as number);
      b.totalBytes += size;
      this.clear(h);
      this.head = (h + 1) & mask;
      this.count--;
      this.byteCount -= size;
    }
    return b;
  }

  /** The ids and serialised events held, oldest first (for spool compaction). */
  *entries(): Generator<[string, Buffer]> {
    const mask = this.ids.length - 1;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & mask;
      const off = this.offs[i] as number;
      const slab = this.slabs[i] as Buffer;
      yield [this.ids[i] ?? idIn(slab, off), slab.subarray(off, off + (this.lens[i] as number))];
    }
  }

  private makeRoom(events: number, bytes: number): string[] | undefined {
    let evicted: string[] | undefined;
    while (this.count > 0 && (this.count + events > this.maxEvents || this.byteCount + bytes > this.maxBytes)) {
      const h = this.head;
      (evicted ??= []).push(this.ids[h] ?? idIn(this.slabs[h] as Buffer, this.offs[h] as number));
      this.byteCount -= this.sizes[h] as number;
      this.clear(h);
      this.head = (h + 1) & (this.ids.length - 1);
      this.count--;
    }
    return evicted;
  }

  private clear(i: number): void {
    this.ids[i] = undefined;
    this.slabs[i] = undefined;
  }

  private grow(): void {
    const cap = this.ids.length;
    const order = <T>(a: T[]): T[] => {
      const out = new Array<T>(cap * 2);
      for (let k = 0; k < this.count; k++) out[k] = a[(this.head + k) & (cap - 1)] as T;
      return out;
    };
    this.ids = order(this.ids);
    this.slabs = order(this.slabs);
    this.offs = order(this.offs);
    this.lens = order(this.lens);
    this.sizes = order(this.sizes);
    this.failed = order(this.failed);
    this.seqs = order(this.seqs);
    this.head = 0;
  }
}
