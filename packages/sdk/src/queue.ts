/** A batch of serialised events taken from the queue, kept in parallel arrays to avoid per-event objects. */
export interface Batch {
  ids: string[];
  jsons: string[];
  bytes: number[];
  /** When each event first failed to send (ms), or NaN if it never did. */
  failedAt: number[];
  /** Sum of `bytes`. */
  totalBytes: number;
}

/** Called with the ids of events evicted to make room. */
export type Evict = (ids: string[]) => void;

/**
 * A double-ended ring buffer of serialised events bounded in count and bytes. push() evicts the
 * oldest events when a bound would be exceeded; every operation is O(1) amortised.
 */
export class EventQueue {
  private ids: (string | undefined)[] = new Array<string | undefined>(16);
  private jsons: (string | undefined)[] = new Array<string | undefined>(16);
  private sizes: number[] = new Array<number>(16).fill(0);
  private failed: number[] = new Array<number>(16).fill(NaN);
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

  /** Appends at the tail, first evicting from the head until the new event fits; returns the evicted ids. */
  push(id: string, json: string, bytes: number, failedAt = NaN): string[] | undefined {
    const evicted = this.makeRoom(1, bytes);
    if (this.count === this.ids.length) this.grow();
    const i = (this.head + this.count) & (this.ids.length - 1);
    this.set(i, id, json, bytes, failedAt);
    this.count++;
    this.byteCount += bytes;
    return evicted;
  }

  /**
   * Puts a failed batch back at the head (it is the oldest), then evicts from the head while over a
   * bound, so the events that have waited longest are the ones dropped.
   */
  unshiftBatch(b: Batch): string[] | undefined {
    for (let k = b.ids.length - 1; k >= 0; k--) {
      if (this.count === this.ids.length) this.grow();
      this.head = (this.head - 1) & (this.ids.length - 1);
      this.set(this.head, b.ids[k] as string, b.jsons[k] as string, b.bytes[k] as number, b.failedAt[k] as number);
      this.count++;
      this.byteCount += b.bytes[k] as number;
    }
    return this.makeRoom(0, 0);
  }

  /** Removes up to `maxEvents` / `maxBytes` from the head (always at least one event if any). */
  take(maxEvents: number, maxBytes: number): Batch {
    const b: Batch = { ids: [], jsons: [], bytes: [], failedAt: [], totalBytes: 0 };
    const mask = this.ids.length - 1;
    while (this.count > 0 && b.ids.length < maxEvents) {
      const size = this.sizes[this.head] as number;
      if (b.ids.length > 0 && b.totalBytes + size > maxBytes) break;
      b.ids.push(this.ids[this.head] as string);
      b.jsons.push(this.jsons[this.head] as string);
      b.bytes.push(size);
      b.failedAt.push(this.failed[this.head] as number);
      b.totalBytes += size;
      this.clear(this.head);
      this.head = (this.head + 1) & mask;
      this.count--;
      this.byteCount -= size;
    }
    return b;
  }

  /** The ids and serialised events held, oldest first (for spool compaction). */
  *entries(): Generator<[string, string]> {
    const mask = this.ids.length - 1;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & mask;
      yield [this.ids[i] as string, this.jsons[i] as string];
    }
  }

  private makeRoom(events: number, bytes: number): string[] | undefined {
    let evicted: string[] | undefined;
    while (this.count > 0 && (this.count + events > this.maxEvents || this.byteCount + bytes > this.maxBytes)) {
      (evicted ??= []).push(this.ids[this.head] as string);
      this.byteCount -= this.sizes[this.head] as number;
      this.clear(this.head);
      this.head = (this.head + 1) & (this.ids.length - 1);
      this.count--;
    }
    return evicted;
  }

  private set(i: number, id: string, json: string, bytes: number, failedAt: number): void {
    this.ids[i] = id;
    this.jsons[i] = json;
    this.sizes[i] = bytes;
    this.failed[i] = failedAt;
  }

  private clear(i: number): void {
    this.ids[i] = undefined;
    this.jsons[i] = undefined;
  }

  private grow(): void {
    const cap = this.ids.length;
    const order = (a: (string | undefined)[] | number[]) => {
      const out = new Array(cap * 2);
      for (let k = 0; k < this.count; k++) out[k] = a[(this.head + k) & (cap - 1)];
      return out;
    };
    this.ids = order(this.ids);
    this.jsons = order(this.jsons);
    this.sizes = order(this.sizes);
    this.failed = order(this.failed);
    this.head = 0;
  }
}
