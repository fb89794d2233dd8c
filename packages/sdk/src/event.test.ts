import { describe, expect, it } from 'vitest';
import { invalidReason, toCloudEventJson } from './event.ts';

describe('toCloudEventJson', () => {
  it('produces a CloudEvents 1.0 object with subject = tenant and data = properties', () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0, 5);
    const json = toCloudEventJson({ type: 'api.request', tenant: 'acme "co"', actor: 'u1', properties: { route: '/a/:id', n: 2 } }, 'id-1', 'urn:x', now);
    expect(JSON.parse(json)).toEqual({
      specversion: '1.0',
      id: 'id-1',
      source: 'urn:x',
      type: 'api.request',
      subject: 'acme "co"',
      time: '2030-01-01T12:00:00.005Z',
      datacontenttype: 'application/json',
      data: { route: '/a/:id', n: 2 },
      actor: 'u1',
    });
  });

  it('accepts Date, epoch ms and RFC 3339 times and rejects invalid ones', () => {
    const t = (time: Date | number | string) => JSON.parse(toCloudEventJson({ type: 't', tenant: 'x', time }, 'i', 's', 0)).time;
    expect(t(new Date(Date.UTC(2029, 1, 3)))).toBe('2029-02-03T00:00:00.000Z');
    expect(t(Date.UTC(2029, 1, 3))).toBe('2029-02-03T00:00:00.000Z');
    expect(t('2029-02-03T01:02:03+01:00')).toBe('2029-02-03T01:02:03+01:00');
    expect(() => t('yesterday')).toThrow();
    expect(() => t(new Date(NaN))).toThrow();
  });

  it('throws on properties that cannot be serialised', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toCloudEventJson({ type: 't', tenant: 'x', properties: cyclic }, 'i', 's', 0)).toThrow();
    expect(() => toCloudEventJson({ type: 't', tenant: 'x', properties: { n: 1n } }, 'i', 's', 0)).toThrow();
  });
});

describe('invalidReason', () => {
  it('names what is wrong', () => {
    expect(invalidReason({ type: 't', tenant: 'x' })).toBeUndefined();
    expect(invalidReason({ type: '', tenant: 'x' })).toMatch(/type/);
    expect(invalidReason({ type: 't', tenant: undefined as unknown as string })).toMatch(/tenant/);
    expect(invalidReason({ type: 't', tenant: 'x', properties: [] as unknown as Record<string, unknown> })).toMatch(/properties/);
    expect(invalidReason(null as unknown as { type: string; tenant: string })).toMatch(/object/);
  });
});
