/**
 * A growable Bloom filter over strings: "definitely never seen" or "maybe seen". The ingest
 * dedupe ledger asks the store only about the maybes, so the common case (a new id) costs
 * no lookup. A wrong "maybe" only costs a lookup; a "no" is never wrong.
 */
export class BloomFilter {
  private layers: { bits: Uint32Array; size: number; count: number; capacity: number }[] = [];

  constructor(
    private readonly initialCapacity = 1 << 20,
    private readonly hashes = 7,
  ) {
    this.grow();
  }

  private grow(): void {
    const capacity = this.initialCapacity * 2 ** this.layers.length;
    const size = capacity * 10; // ~10 bits per key: ≈1 % false "maybe" with 7 hashes
    this.layers.push({ bits: new Uint32Array(Math.ceil(size / 32)), size, count: 0, capacity });
  }

  /** Two independent 32-bit FNV-1a style hashes of the key (double hashing derives the rest). */
  private static hash(key: string): [number, number] {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ key.length;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    return [h1 >>> 0, (h2 | 1) >>> 0];
  }

  add(key: string): void {
    let layer = this.layers[this.layers.length - 1]!;
    if (layer.count >= layer.capacity) {
      this.grow();
      layer = this.layers[this.layers.length - 1]!;
    }
    const [a, b] = BloomFilter.hash(key);
    for (let i = 0; i < this.hashes; i++) {
      const bit = (a + i * b) % layer.size;
      layer.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    layer.count++;
  }

  /** False only when the key was certainly never added. */
  mightContain(key: string): boolean {
    const [a, b] = BloomFilter.hash(key);
    return this.layers.some((layer) => {
      for (let i = 0; i < this.hashes; i++) {
        const bit = (a + i * b) % layer.size;
        if ((layer.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      }
      return true;
    });
  }
}
