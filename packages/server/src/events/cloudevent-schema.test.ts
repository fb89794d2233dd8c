import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEventText, canonicalJson } from './canonical-json.ts';
import { cloudEventSchema, parseValidCloudEvent } from './cloudevent-schema.ts';

const field = (max: number) => fc.oneof(fc.string({ minLength: 0, maxLength: max + 2 }), fc.constant(undefined), fc.integer(), fc.constant(null));
const event = fc.record(
  {
    specversion: fc.oneof(fc.constant('1.0'), fc.constant('1.1'), fc.constant(1)),
    id: field(256),
    source: field(1024),
    type: field(200),
    subject: field(200),
    time: fc.oneof(fc.constant('2026-11-27T10:00:00Z'), fc.integer()),
    datacontenttype: fc.oneof(fc.constant(undefined), fc.constant('application/json'), fc.constant('text/plain')),
    data: fc.oneof(fc.jsonValue(), fc.constant(JSON.parse('{"__proto__": 1, "a": 2}') as unknown), fc.dictionary(fc.string(), fc.jsonValue())),
    actor: field(512),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('parseValidCloudEvent', () => {
  it('accepts only what the schema accepts, with the same fields and the same data JSON', () => {
    fc.assert(
      fc.property(event, (e) => {
        const fast = parseValidCloudEvent(e);
        const slow = cloudEventSchema.safeParse(e);
        if (fast === undefined) return; // the caller falls back to the schema
        expect(slow.success).toBe(true);
        const d = slow.data!;
        expect(fast).toEqual({ id: d.id, source: d.source, type: d.type, subject: d.subject, time: d.time, data: fast.data, actor: d.actor });
        expect(JSON.stringify(fast.data)).toBe(JSON.stringify(d.data));
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the fast path for ordinary valid events', () => {
    const e = { specversion: '1.0', id: 'e1', source: 's', type: 't', subject: 'acme', time: '2026-11-27T10:00:00Z', data: { a: 1 }, actor: 'u1', extension: 'x' };
    expect(parseValidCloudEvent(e)).toEqual({ id: 'e1', source: 's', type: 't', subject: 'acme', time: '2026-11-27T10:00:00Z', data: { a: 1 }, actor: 'u1' });
  });
});

describe('canonicalJson', () => {
  /** The definition: keys sorted at every level (the reference the stored content hashes were made with). */
  const reference = (value: unknown): string => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`;
  };
  it('prints exactly what the reference prints', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
    expect(canonicalJson(['t', 's', 1, null, { b: [1, { d: 1, c: 2 }], a: '\u2028' }])).toBe('["t","s",1,null,{"a":"\u2028","b":[1,{"c":2,"d":1}]}]');
  });

  it('builds the hashed event text as the canonical array of type, source, time, actor and data', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.option(fc.string()), fc.dictionary(fc.string(), fc.jsonValue()), (type, source, time, actor, data) => {
        expect(canonicalEventText(type, source, time, actor, canonicalJson(data))).toBe(reference([type, source, time, actor, data]));
      }),
      { numRuns: 1000 },
    );
  });
});
