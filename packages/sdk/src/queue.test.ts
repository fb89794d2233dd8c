import { describe, expect, it } from 'vitest';
import { EventQueue } from './queue.ts';

const push = (q: EventQueue, id: string, bytes = 10) => q.push(id, `{"id":"${id}"}`, bytes);

describe('EventQueue', () => {
  it('keeps FIFO order across growth and wrap-around', () => {
    const q = new EventQueue(1_000, 1_000_000);
    const out: string[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 7; k++) push(q, String(next++));
      out.push(...q.take(5, Infinity).ids);
    }
    out.push(...q.take(Infinity, Infinity).ids);
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
});
