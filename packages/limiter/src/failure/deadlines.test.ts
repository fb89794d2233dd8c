import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from './deadlines.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineQueue (one timer for all in-flight calls)', () => {
  it('fires only the deadlines whose calls did not settle, in order, and re-arms for later ones', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const q = new DeadlineQueue(100);
    const fired: string[] = [];
    const a = q.add(() => fired.push('a'));
    const b = q.add(() => fired.push('b'));
    vi.advanceTimersByTime(50);
    const c = q.add(() => fired.push('c'));
    expect(q.settle(a)).toBe(true);
    vi.advanceTimersByTime(50); // a settled, b expires
    expect(fired).toEqual(['b']);
    expect(q.settle(b)).toBe(false); // too late: the call already timed out
    vi.advanceTimersByTime(49);
    expect(fired).toEqual(['b']);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['b', 'c']);
    expect(q.settle(c)).toBe(false);
    expect(vi.getTimerCount()).toBe(0); // nothing pending: no timer left behind
  });

  it('uses one timer however many calls are in flight', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const q = new DeadlineQueue(100);
    const handles = Array.from({ length: 1000 }, () => q.add(() => undefined));
    expect(vi.getTimerCount()).toBe(1);
    for (const h of handles) q.settle(h);
    vi.advanceTimersByTime(100);
    expect(vi.getTimerCount()).toBe(0);
  });
});
