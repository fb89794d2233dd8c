import { randomFillSync } from 'node:crypto';

// Hex digit char codes, two per byte value, so an id is written straight into a 36-byte buffer
// and read back as one flat string: a concatenated id would be a tree of rope nodes that the GC
// has to copy for as long as the event is queued.
const HEX = Buffer.from(Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join(''), 'latin1');
const OUT = Buffer.alloc(36);
const DASH = 0x2d;
// One call fills random bytes for 8,192 ids: a per-id crypto call would dominate track(), and
// per byte a 64 KiB fill costs a fifth of a 4 KiB one (call overhead).
const POOL = Buffer.alloc(8 * 8192);
let poolPos = POOL.length;
let lastMs = -1;
let seq = 0;

/** Writes byte `v` as two hex digits at `at` of `out`. */
function put(out: Uint8Array, at: number, v: number): void {
  out[at] = HEX[(v & 0xff) * 2] as number;
  out[at + 1] = HEX[(v & 0xff) * 2 + 1] as number;
}

/**
 * Writes a UUIDv7 (RFC 9562) as 36 ASCII bytes at `at` of `out`: 48-bit Unix-ms timestamp, a
 * 12-bit counter (method 1) that keeps ids strictly increasing within this process even when the
 * clock stalls or steps back, and 62 random bits. Writing into the event's own bytes lets the
 * client make the id string later, only if it needs it (see EventQueue#idAt).
 */
export function writeUuidv7(out: Uint8Array, at: number, nowMs: number): void {
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
  put(out, at, hi >>> 16);
  put(out, at + 2, hi >>> 8);
  put(out, at + 4, hi);
  put(out, at + 6, lo >>> 16);
  out[at + 8] = DASH;
  put(out, at + 9, lo >>> 8);
  put(out, at + 11, lo);
  out[at + 13] = DASH;
  put(out, at + 14, 0x70 | (seq >>> 8));
  put(out, at + 16, seq);
  out[at + 18] = DASH;
  put(out, at + 19, 0x80 | ((POOL[p] as number) & 0x3f));
  put(out, at + 21, POOL[p + 1] as number);
  out[at + 23] = DASH;
  for (let k = 2; k < 8; k++) put(out, at + 24 + (k - 2) * 2, POOL[p + k] as number);
}

/** A UUIDv7 string; see {@link writeUuidv7}. */
export function uuidv7(nowMs: number = Date.now()): string {
  writeUuidv7(OUT, 0, nowMs);
  return OUT.toString('latin1', 0, 36);
}
