/** One tracked key: its count is an overestimate by at most `error`. */
export interface SpaceSavingItem {
  key: string;
  count: bigint;
  error: bigint;
}

interface Slot extends SpaceSavingItem {
  at: number;
}

/**
 * Weighted Space-Saving (Metwally et al. 2005): the heavy hitters of a stream in `capacity`
 * counters. Every reported count overestimates the true one by at most its `error`, and every
 * error is at most total / capacity, so any key whose true weight exceeds total / capacity is
 * reported. Weights are exact integers (scaled quantities). The counters sit in a min-heap:
 * each event costs O(log capacity).
 */
export class SpaceSaving {
  private readonly byKey = new Map<string, Slot>();
  private readonly heap: Slot[] = [];
  private total = 0n;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  add(key: string, weight: bigint): void {
    this.total += weight;
    const hit = this.byKey.get(key);
    if (hit) {
      hit.count += weight;
      this.down(hit.at);
      return;
    }
    if (this.heap.length < this.capacity) {
      const slot: Slot = { key, count: weight, error: 0n, at: this.heap.length };
      this.heap.push(slot);
      this.byKey.set(key, slot);
      this.up(slot.at);
      return;
    }
    // The smallest counter is taken over: its count becomes the newcomer's error.
    const min = this.heap[0]!;
    this.byKey.delete(min.key);
    min.error = min.count;
    min.count += weight;
    min.key = key;
    this.byKey.set(key, min);
    this.down(0);
  }

  /** The stream's exact total weight. */
  get totalWeight(): bigint {
    return this.total;
  }

  /** The largest possible overestimate of any count: total / capacity (rounded up). */
  get errorBound(): bigint {
    const c = BigInt(this.capacity);
    return (this.total + c - 1n) / c;
  }

  /** Tracked keys by estimated count, largest first (ties by key). */
  top(n: number): SpaceSavingItem[] {
    return this.heap
      .map(({ key, count, error }) => ({ key, count, error }))
      .sort((a, b) => (a.count > b.count ? -1 : a.count < b.count ? 1 : a.key < b.key ? -1 : 1))
      .slice(0, n);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    a.at = j;
    b.at = i;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.heap[p]!.count <= this.heap[i]!.count) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.heap[l]!.count < this.heap[m]!.count) m = l;
      if (r < this.heap.length && this.heap[r]!.count < this.heap[m]!.count) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
