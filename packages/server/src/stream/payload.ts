import { z } from 'zod';
import type { EventRecord } from '../events/event.ts';

/** The stream payload of one event (compact keys; `d` is the event's data as JSON text). */
const payloadSchema = z.object({
  t: z.string(),
  i: z.string(),
  y: z.string(),
  s: z.string(),
  m: z.number().int(),
  a: z.string().nullable(),
  d: z.string(),
  h: z.string(),
});

/** Encodes an accepted event for the log (after ingest validation; readings are recomputed downstream). */
export function encodePayload(e: EventRecord): string {
  return JSON.stringify({ t: e.tenant, i: e.id, y: e.type, s: e.source, m: e.time, a: e.actor, d: e.dataJson, h: e.contentHash });
}

/** Decodes and validates a payload read from the log (throws on a malformed message). */
export function decodePayload(text: string): EventRecord {
  const p = payloadSchema.parse(JSON.parse(text));
  return { tenant: p.t, id: p.i, type: p.y, source: p.s, time: p.m, actor: p.a, data: JSON.parse(p.d) as Record<string, unknown>, dataJson: p.d, contentHash: p.h };
}
