import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuid.ts';

describe('uuidv7', () => {
  it('has the RFC 9562 version and variant and encodes the timestamp', () => {
    const ms = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(ms);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(ms);
  });

  it('is strictly increasing and unique, even when the clock stalls or steps back', () => {
    const base = Date.UTC(2031, 5, 1);
    const ids = [uuidv7(base)];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(base - (i % 3)));
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
