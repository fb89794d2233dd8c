import { z } from 'zod';

/**
 * One CloudEvents 1.0 structured-mode JSON event as Tally accepts it. `subject` is the
 * tenant; the extension attribute `actor` is the end-user id (hashed before storage).
 * Other extension attributes are accepted and dropped (data minimisation).
 */
export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0', { error: 'must be "1.0"' }),
    id: z.string().min(1).max(256).describe('Idempotency key, unique per tenant'),
    source: z.string().min(1).max(1024),
    type: z.string().min(1).max(200),
    subject: z.string().min(1).max(200).describe('The tenant (billing customer)'),
    time: z.string().optional().describe('RFC 3339; when omitted, the time the server received the event (the receipt says which)'),
    datacontenttype: z.literal('application/json', { error: 'only "application/json" data is supported' }).optional(),
    data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
    actor: z.string().min(1).max(512).optional().describe('End-user id; HMAC-hashed at ingest, never stored raw'),
  })
  .loose();

/** A CloudEvent as sent. */
export type CloudEvent = z.infer<typeof cloudEventSchema>;

const hasOwn = Object.prototype.hasOwnProperty;

function isString(v: unknown, min: number, max: number): v is string {
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

/**
 * The hot path of `cloudEventSchema.safeParse` for events that are valid (nearly all of them):
 * the same checks without building issue lists or copying the event. Returns the fields
 * `cloudEventSchema` would return, or undefined when the event may be invalid — then parse it
 * with the schema for the error messages. A `data` the schema would change (an own `__proto__`
 * key, which it drops; a non-plain object) also takes the slow path.
 */
export function parseValidCloudEvent(item: unknown): Pick<CloudEvent, 'id' | 'source' | 'type' | 'subject' | 'time' | 'data' | 'actor'> | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const e = item as Record<string, unknown>;
  const { id, source, type, subject, time, data, actor, datacontenttype } = e;
  if (e.specversion !== '1.0' || !isString(id, 1, 256) || !isString(source, 1, 1024) || !isString(type, 1, 200) || !isString(subject, 1, 200) || (time !== undefined && typeof time !== 'string')) return undefined;
  if (datacontenttype !== undefined && datacontenttype !== 'application/json') return undefined;
  if (actor !== undefined && !isString(actor, 1, 512)) return undefined;
  if (data === null || typeof data !== 'object' || Object.getPrototypeOf(data) !== Object.prototype || hasOwn.call(data, '__proto__')) return undefined;
  return { id, source, type, subject, time, data: data as Record<string, unknown>, actor };
}
