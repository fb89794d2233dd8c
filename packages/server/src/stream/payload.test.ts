import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../events/event.ts';
import { RowBinaryWriter } from '../events/row-binary.ts';
import { evaluateMeter, type MeterReading } from '../meters/evaluate.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { beginBatch, decodePayload, endBatch, eventCount, writeEventColumns, writeReadings } from './payload.ts';

const registry = new MeterRegistry([
  { slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: { route: '$.route', region: '$.region' } },
  { slug: 'units', eventType: 'call', aggregation: 'SUM', valueProperty: '$.units', groupBy: {} },
  { slug: 'users', eventType: 'call', aggregation: 'UNIQUE_COUNT', valueProperty: '$actor', groupBy: {} },
]);

function record(i: number, withReadings: boolean): EventRecord {
  const data = { route: `/r/${i}`, units: '12.000000000001', nested: { a: [1, 'é'] } };
  const base = { tenant: `t-${i % 3}`, id: `e-${i}`, type: 'call', source: 'src', time: 1_795_753_082_779_000 + i, actor: i % 2 ? `actor-${i}` : null, data, dataJson: JSON.stringify(data), contentHash: `h${i}` };
  if (!withReadings) return base;
  const meters = registry.forType('call');
  return { ...base, cached: { meters, readings: meters.map((m) => evaluateMeter(m, base) as MeterReading | null) } };
}

function batch(records: EventRecord[]): Buffer {
  const w = new RowBinaryWriter(16);
  const at = beginBatch(w);
  for (const r of records) {
    writeEventColumns(w, r);
    writeReadings(w, r);
  }
  endBatch(w, at, records.length);
  return Buffer.from(w.view());
}

describe('stream payload', () => {
  it('round-trips a batch, with the readings taken at ingest when the reader has the same meters', () => {
    const sent = Array.from({ length: 5 }, (_, i) => record(i, true));
    const bytes = batch(sent);
    expect(eventCount(bytes)).toBe(5);
    const got = decodePayload(bytes, (t) => registry.forType(t));
    expect(got).toHaveLength(5);
    got.forEach((e, i) => {
      const s = sent[i]!;
      expect([e.tenant, e.id, e.type, e.source, e.time, e.actor, e.dataJson, e.contentHash]).toEqual([s.tenant, s.id, s.type, s.source, s.time, s.actor, s.dataJson, s.contentHash]);
      expect(e.data).toEqual(s.data);
      expect(e.cached?.meters).toBe(registry.forType('call'));
      expect(e.cached?.readings).toEqual(s.cached!.readings);
    });
  });

  it('drops carried readings taken with other meters, and reads batches without readings', () => {
    const other = new MeterRegistry([{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }]);
    const [e] = decodePayload(batch([record(1, true)]), (t) => other.forType(t));
    expect(e!.cached).toBeUndefined();
    expect(e!.data).toEqual(record(1, false).data);
    const [plain] = decodePayload(batch([record(2, false)]), (t) => registry.forType(t));
    expect(plain!.cached).toBeUndefined();
    expect(plain!.dataJson).toBe(record(2, false).dataJson);
  });

  it('still reads the one-event JSON payloads of earlier versions', () => {
    const json = JSON.stringify({ t: 'acme', i: 'e1', y: 'call', s: 'src', m: 5, a: null, d: '{"x":1}', h: 'h' });
    expect(decodePayload(Buffer.from(json))).toEqual([{ tenant: 'acme', id: 'e1', type: 'call', source: 'src', time: 5, actor: null, data: { x: 1 }, dataJson: '{"x":1}', contentHash: 'h' }]);
  });
});
