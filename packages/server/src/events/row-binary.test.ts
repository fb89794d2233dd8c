import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RowBinaryReader, RowBinaryWriter } from './row-binary.ts';

describe('RowBinary', () => {
  it('round-trips strings of every length class, integers and nulls', () => {
    const strings = ['', 'a', 'x'.repeat(42), 'x'.repeat(43), 'é'.repeat(50), '😀'.repeat(3000), 'z'.repeat(5461), 'q'.repeat(5462), 'y'.repeat(200_000)];
    const ints = [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_795_753_082_779_000];
    const w = new RowBinaryWriter(4);
    for (const s of strings) w.string(s);
    for (const n of ints) w.int64(n);
    w.nullableString(null);
    w.nullableString('v');
    const r = new RowBinaryReader(Buffer.from(w.view()));
    for (const s of strings) expect(r.string()).toBe(s);
    for (const n of ints) expect(r.int64()).toBe(n);
    expect(r.nullableString()).toBeNull();
    expect(r.nullableString()).toBe('v');
    expect(r.pos).toBe(w.length);
  });

  it('writes 64-bit integers and Decimal128 as little-endian two’s complement', () => {
    const w = new RowBinaryWriter();
    w.int64(-2);
    w.bigInt64(-3n);
    w.nullableDecimal128(-(10n ** 30n) - 7n);
    const b = Buffer.from(w.view());
    expect(b.readBigInt64LE(0)).toBe(-2n);
    expect(b.readBigInt64LE(8)).toBe(-3n);
    expect(b[16]).toBe(0);
    expect(b.readBigUInt64LE(17) + (b.readBigInt64LE(25) << 64n)).toBe(-(10n ** 30n) - 7n);
  });

  it('round-trips Decimal128 values across the ±2^63 and ±2^127 edges, byte for byte as two’s complement', () => {
    const edges = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n, -(2n ** 64n), 10n ** 30n + 7n, -(10n ** 30n) - 7n, 2n ** 127n - 1n, -(2n ** 127n)];
    const check = (v: bigint) => {
      const w = new RowBinaryWriter(3); // grows while writing
      w.u8(9);
      w.nullableDecimal128(v);
      w.bigInt64(BigInt.asIntN(64, v));
      const b = Buffer.from(w.view());
      // The reference encoding: low 64 bits unsigned, high 64 bits signed, little-endian.
      const expected = Buffer.alloc(16);
      expected.writeBigUInt64LE(BigInt.asUintN(64, v), 0);
      expected.writeBigInt64LE(BigInt.asIntN(64, v >> 64n), 8);
      expect(b.subarray(2, 18).equals(expected)).toBe(true);
      const r = new RowBinaryReader(b);
      expect(r.u8()).toBe(9);
      expect(r.nullableDecimal128()).toBe(v);
      expect(b.readBigInt64LE(18)).toBe(BigInt.asIntN(64, v));
    };
    for (const v of edges) check(v);
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 127n), max: 2n ** 127n - 1n }), (v) => check(v)), { numRuns: 2000 });
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (v) => check(v)), { numRuns: 2000 });
  });
});
