import fc from 'fast-check';
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

describe('RFC 3339 fast path', () => {
  /** The definition the fast path must match: the regular-expression parser alone. */
  const RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
  const reference = (text: string): number | undefined => {
    const m = RE.exec(text);
    if (!m) return undefined;
    const [, y, mo, d, h, mi, s, frac = ''] = m.map((x) => x ?? '');
    const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
    const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
    if (new Date(ms).getUTCDate() !== day) return undefined;
    const off = m[8]!;
    const offset = off === 'Z' || off === 'z' ? 0 : (off.startsWith('-') ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6)));
    return (ms - offset * 60_000) * 1000 + Number((frac + '000000').slice(0, 6));
  };
  const d2 = (max: number) => fc.integer({ min: 0, max }).map((v) => String(v).padStart(2, '0'));
  const stamp = fc
    .tuple(fc.integer({ min: 1970, max: 2100 }), d2(13), d2(32), d2(25), d2(61), d2(61), fc.option(fc.stringMatching(/^\d{0,10}$/)), fc.constantFrom('Z', 'z', '+02:00', '-05:30', ''), fc.constantFrom('T', 't', ' '))
    .map(([y, mo, d, h, mi, s, frac, z, sep]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac === null ? '' : `.${frac}`}${z}`);
  it('answers exactly as the full parser, for valid and invalid stamps, in any order of dates', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(stamp, fc.string()), { minLength: 1, maxLength: 20 }), (texts) => {
        for (const t of texts) expect(parseRfc3339(t)).toBe(reference(t));
      }),
      { numRuns: 3000 },
    );
  });
});
