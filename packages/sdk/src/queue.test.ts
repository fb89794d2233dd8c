import { describe, expect, it } from 'vitest';
import { EventQueue, batchBody, batchChunks, idsOf } from './queue.ts';

const push = (q: EventQueue, id: string, bytes = 10) => q.push(id, `{"id":"${id}"}`, bytes);

describe('EventQueue', () => {
  it('keeps FIFO order across growth and wrap-around', () => {
    const q = new EventQueue(1_000, 1_000_000);
    const out: string[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 7; k++) push(q, String(next++));
      out.push(...idsOf(q.take(5, Infinity)));
    }
    out.push(...idsOf(q.take(Infinity, Infinity)));
    expect(out).toEqual(Array.from({ length: next }, (_, i) => String(i)));
    expect(q.length).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it('evicts the oldest when the count bound is hit and says which', () => {
    const q = new EventQueue(3, 1_000_000);
    expect(push(q, 'a')).toBeUndefined();
    push(q, 'b');
    push(q, 'c');
    expect(push(q, 'd')).toEqual(['a']);
    expect(q.take(10, Infinity).ids).toEqual(['b', 'c', 'd']);
  });

  it('evicts by bytes, as many as needed', () => {
    const q = new EventQueue(100, 100);
    push(q, 'a', 40);
    push(q, 'b', 40);
    push(q, 'c', 20);
    expect(push(q, 'd', 90)).toEqual(['a', 'b', 'c']);
    expect(q.bytes).toBe(90);
  });

  it('takes batches bounded by bytes but always at least one event', () => {
    const q = new EventQueue(100, 1_000);
    push(q, 'big', 500);
    push(q, 'x', 10);
    expect(q.take(10, 100).ids).toEqual(['big']);
    expect(q.take(10, 100).ids).toEqual(['x']);
  });

  it('puts a failed batch back at the head, evicting the oldest when over the bound', () => {
    const q = new EventQueue(4, 1_000);
    for (const id of ['a', 'b', 'c']) push(q, id);
    const batch = q.take(2, Infinity);
    batch.failedAt = [5, 5];
    push(q, 'd');
    push(q, 'e');
    expect(q.unshiftBatch(batch)).toEqual(['a']);
    const rest = q.take(10, Infinity);
    expect(rest.ids).toEqual(['b', 'c', 'd', 'e']);
    expect(rest.failedAt.slice(0, 1)).toEqual([5]);
    expect(Number.isNaN(rest.failedAt[1])).toBe(true);
  });

  it('puts a newer batch that failed after an older one behind it, so the oldest are evicted', () => {
    // Two requests in flight: the older batch fails first, the newer one after it.
    const q = new EventQueue(5, 1_000);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) push(q, id); // 'a' evicted
    const older = q.take(2, Infinity); // b c
    const newer = q.take(2, Infinity); // d e
    push(q, 'g');
    push(q, 'h');
    expect(q.unshiftBatch(older)).toBeUndefined(); // b c f g h
    expect(q.unshiftBatch(newer)).toEqual(['b', 'c']); // b c d e f g h, bound 5
    expect(q.take(10, Infinity).ids).toEqual(['d', 'e', 'f', 'g', 'h']);
  });

  it('builds a request body from the events, in order, as a JSON array', () => {
    const q = new EventQueue(100, 1_000_000);
    for (let k = 0; k < 5; k++) q.push(`id${k}`, JSON.stringify({ id: `id${k}`, n: k, s: 'é✓' }), 10);
    const first = q.take(2, Infinity);
    q.unshiftBatch(first); // back in place: still one run per slab
    expect(JSON.parse(batchBody(q.take(10, Infinity)).toString('utf8'))).toEqual([0, 1, 2, 3, 4].map((n) => ({ id: `id${n}`, n, s: 'é✓' })));
  });

  it('writes a body spread over several slabs as runs of slab slices that add up to it', () => {
    const q = new EventQueue(100, 100_000_000);
    const pad = 'p'.repeat(10_000); // a few events per 64 KiB slab
    for (let k = 0; k < 7; k++) q.push(`id${k}`, JSON.stringify({ id: `id${k}`, pad }), 10);
    q.take(1, Infinity); // the batch starts mid-slab
    const b = q.take(10, Infinity);
    const { chunks, length } = batchChunks(b);
    const slabs = new Set(b.slabs).size;
    expect(slabs).toBeGreaterThan(1);
    expect(chunks).toHaveLength(2 + slabs); // [ + one run per slab + ]
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(length);
    expect((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string }[]).map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6].map((k) => `id${k}`));
  });
});
