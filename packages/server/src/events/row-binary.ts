/**
 * ClickHouse's RowBinary encoding (little-endian integers, LEB128-prefixed UTF-8 strings, a
 * null flag byte before Nullable values, Decimal128 as a 16-byte two's complement integer).
 * Events travel the stream in it and are inserted in it, so a worker copies an event's bytes
 * from the log into its insert without parsing and re-printing them.
 */
export class RowBinaryWriter {
  private buf: Buffer;
  /** The same bytes as `buf`: DataView's 64-bit setters are native, Buffer's BigInt writers are not (they were a tenth of a worker's CPU). */
  private dv: DataView;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.dv = viewOf(this.buf);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = viewOf(next);
  }

  string(s: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit: reserve a length of that many varint bytes, write
    // the text, then fill the length in (padded with continuation bytes, which LEB128 allows).
    const max = s.length * 3;
    const k = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : 5;
    this.ensure(max + k);
    const n = s.length === 0 ? 0 : this.buf.write(s, this.pos + k, 'utf8');
    for (let i = 0, v = n; i < k; i++, v = Math.floor(v / 0x80)) this.buf[this.pos + i] = (v % 0x80) | (i < k - 1 ? 0x80 : 0);
    this.pos += k + n;
  }

  nullableString(s: string | null): void {
    if (s === null) return this.nullFlag();
    this.u8(0);
    this.string(s);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  nullFlag(): void {
    this.u8(1);
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.pos);
    this.pos += 4;
  }

  /** A signed or unsigned 64-bit integer given as a safe JavaScript integer. */
  int64(v: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.buf.writeInt32LE(Math.floor(v / 4_294_967_296), this.pos + 4);
    this.pos += 8;
  }

  /** A 64-bit integer given as a bigint. */
  bigInt64(v: bigint): void {
    this.ensure(8);
    this.dv.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  nullableInt64(v: number | null): void {
    if (v === null) return this.nullFlag();
    this.u8(0);
    this.int64(v);
  }

  /** Decimal128 (e.g. `Decimal(38, 12)`): the scaled integer itself. */
  nullableDecimal128(v: bigint | null): void {
    if (v === null) return this.nullFlag();
    this.ensure(17);
    this.buf[this.pos++] = 0;
    // setBigUint64 takes v modulo 2^64 (the low half); the high half is the sign within ±2^63.
    this.dv.setBigUint64(this.pos, v, true);
    const high = v >= MIN_INT64 && v <= MAX_INT64 ? (v < 0n ? -1 : 0) : undefined;
    if (high === undefined) this.dv.setBigInt64(this.pos + 8, BigInt.asIntN(64, v >> 64n), true);
    else {
      this.dv.setInt32(this.pos + 8, high, true);
      this.dv.setInt32(this.pos + 12, high, true);
    }
    this.pos += 16;
  }

  /** Overwrites 4 bytes written earlier (a count known only afterwards). */
  patchUInt32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The bytes written (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads RowBinary values in order; throws on a truncated buffer. */
export class RowBinaryReader {
  pos = 0;
  private readonly dv: DataView;
  constructor(readonly buf: Buffer) {
    this.dv = viewOf(buf);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated RowBinary value');
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  private varint(): number {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.u8();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      if (shift > 28) throw new Error('bad RowBinary length');
    }
  }

  string(): string {
    const n = this.varint();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  nullableString(): string | null {
    return this.u8() === 1 ? null : this.string();
  }

  /** Skips a string; returns where its bytes start and end. */
  skipString(): [number, number] {
    const n = this.varint();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }

  nullableDecimal128(): bigint | null {
    if (this.u8() === 1) return null;
    this.need(16);
    const high = this.dv.getInt32(this.pos + 12, true);
    // Within ±2^63 (the high half only repeats the sign) one native read gives the value.
    const v = high === this.dv.getInt32(this.pos + 8, true) && (high === 0 || high === -1) && high === this.dv.getInt32(this.pos + 4, true) >> 31 ? this.dv.getBigInt64(this.pos, true) : this.dv.getBigUint64(this.pos, true) + (this.dv.getBigInt64(this.pos + 8, true) << 64n);
    this.pos += 16;
    return v;
  }

  int64(): number {
    this.need(8);
    const v = this.buf.readUInt32LE(this.pos) + this.buf.readInt32LE(this.pos + 4) * 4_294_967_296;
    this.pos += 8;
    return v;
  }
}
