import { randomFillSync } from 'node:crypto';

// Hex digit char codes, two per byte value, so an id is written straight into a 36-byte buffer
// and read back as one flat string: a concatenated id would be a tree of rope nodes that the GC
// has to copy for as long as the event is queued.
const HEX = Buffer.from(Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join(''), 'latin1');
const OUT = Buffer.alloc(36, '-');
// One syscall fills random bytes for 512 ids; a per-id crypto call would dominate track().
const POOL = Buffer.alloc(8 * 512);
let poolPos = POOL.length;
let lastMs = -1;
let seq = 0;

/** Writes byte `v` as two hex digits at `at`. */
function put(at: number, v: number): void {
  OUT[at] = HEX[(v & 0xff) * 2] as number;
  OUT[at + 1] = HEX[(v & 0xff) * 2 + 1] as number;
}

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix-ms timestamp, a 12-bit counter (method 1) that keeps ids
 * strictly increasing within this process even when the clock stalls or steps back, and 62
 * random bits.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    seq = 0;
  } else if (++seq > 0xfff) {
    // Counter exhausted in this millisecond: borrow the next one, as RFC 9562 §6.2 allows.
    lastMs += 1;
    seq = 0;
  }
  if (poolPos + 8 > POOL.length) {
    randomFillSync(POOL);
    poolPos = 0;
  }
  const p = poolPos;
  poolPos += 8;
  const ms = lastMs;
  const hi = Math.floor(ms / 0x1000000); // upper 24 bits
  const lo = ms % 0x1000000; // lower 24 bits
  put(0, hi >>> 16);
  put(2, hi >>> 8);
  put(4, hi);
  put(6, lo >>> 16);
  put(9, lo >>> 8); // 8, 13, 18 and 23 stay '-'
  put(11, lo);
  put(14, 0x70 | (seq >>> 8));
  put(16, seq);
  put(19, 0x80 | ((POOL[p] as number) & 0x3f));
  put(21, POOL[p + 1] as number);
  for (let k = 2; k < 8; k++) put(24 + (k - 2) * 2, POOL[p + k] as number);
  return OUT.toString('latin1', 0, 36);
}
