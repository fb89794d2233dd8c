import { describe, expect, it } from 'vitest';
import { formatMicros, parseRfc3339 } from './time.ts';

describe('RFC 3339', () => {
  it('keeps microseconds and applies offsets', () => {
    expect(parseRfc3339('2026-11-27T10:00:00.123456Z')).toBe(Date.UTC(2026, 10, 27, 10) * 1000 + 123456);
    expect(parseRfc3339('2026-11-27T12:00:00+02:00')).toBe(Date.UTC(2026, 10, 27, 10) * 1000);
    expect(parseRfc3339('2026-11-27t10:00:00.5z')).toBe(Date.UTC(2026, 10, 27, 10) * 1000 + 500_000);
    expect(formatMicros(Date.UTC(2026, 10, 27, 10) * 1000 + 123456)).toBe('2026-11-27T10:00:00.123456Z');
    expect(formatMicros(Date.UTC(2026, 10, 27, 10) * 1000)).toBe('2026-11-27T10:00:00.000Z');
  });

  it.each(['2026-11-27', '2026-02-30T00:00:00Z', '2026-11-27T25:00:00Z', '2026-11-27T10:00:00', 'yesterday', '1700000000'])('refuses %s', (t) => {
    expect(parseRfc3339(t)).toBeUndefined();
  });
});
