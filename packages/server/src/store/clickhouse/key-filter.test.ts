import { describe, expect, it } from 'vitest';
import { KeyFilter } from './key-filter.ts';

describe('KeyFilter', () => {
  it('never forgets a key and keeps false positives near 1 %', () => {
    const f = new KeyFilter(20_000);
    for (let i = 0; i < 20_000; i++) f.add(`tenant-${i % 37}\u0000evt_${i}`);
    for (let i = 0; i < 20_000; i++) expect(f.mayContain(`tenant-${i % 37}\u0000evt_${i}`)).toBe(true);
    let fp = 0;
    for (let i = 20_000; i < 40_000; i++) if (f.mayContain(`tenant-${i % 37}\u0000evt_${i}`)) fp++;
    expect(fp / 20_000).toBeLessThan(0.03);
    expect(f.saturated).toBe(false);
    f.add('one more');
    expect(f.saturated).toBe(true);
  });
});
