/**
 * A Bloom filter over the (tenant, id) keys one stream partition has committed. The worker
 * that owns the partition is its only writer, so the filter is complete: a key it has never
 * seen is certainly new and needs no ClickHouse lookup; only possible duplicates (re-sends and
 * ~1 % false positives) are looked up. This keeps the dedupe cost per batch independent of the
 * table size.
 */
export class KeyFilter {
  private readonly bits: Uint32Array;
  private readonly m: number;
  private count = 0;

  /** Sized for `capacity` keys at about 1 % false positives (9.6 bits and 7 probes per key). */
  constructor(readonly capacity: number) {
    this.m = Math.max(1024, Math.ceil(capacity * 9.6));
    this.bits = new Uint32Array(Math.ceil(this.m / 32));
  }

  /** True once more keys were added than it was sized for (the owner rebuilds it bigger). */
  get saturated(): boolean {
    return this.count > this.capacity;
  }

  private probes(key: string): number[] {
    // Two independent 32-bit FNV-1a hashes, combined (Kirsch–Mitzenmacher) into 7 probes.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ key.length;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    const a = h1 >>> 0;
    const b = (h2 | 1) >>> 0;
    return Array.from({ length: 7 }, (_, i) => (a + i * b) % this.m);
  }

  add(key: string): void {
    for (const p of this.probes(key)) this.bits[p >>> 5]! |= 1 << (p & 31);
    this.count++;
  }

  /** False: the key was certainly never added. True: it may have been. */
  mayContain(key: string): boolean {
    return this.probes(key).every((p) => (this.bits[p >>> 5]! & (1 << (p & 31))) !== 0);
  }
}
