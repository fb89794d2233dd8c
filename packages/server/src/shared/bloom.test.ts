import { describe, expect, it } from 'vitest';
import { BloomFilter } from './bloom.ts';

describe('BloomFilter', () => {
  it('never answers "no" for an added key, across growth, and rarely "maybe" for others', () => {
    const f = new BloomFilter(1000);
    for (let i = 0; i < 20_000; i++) f.add(`tenant-${i % 7}\u0000evt-${i}`);
    for (let i = 0; i < 20_000; i++) expect(f.mightContain(`tenant-${i % 7}\u0000evt-${i}`)).toBe(true);
    let falseMaybes = 0;
    for (let i = 20_000; i < 40_000; i++) if (f.mightContain(`tenant-${i % 7}\u0000evt-${i}`)) falseMaybes++;
    expect(falseMaybes / 20_000).toBeLessThan(0.1);
  });
});
