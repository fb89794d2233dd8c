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
    time: z.string().describe('RFC 3339'),
    datacontenttype: z.literal('application/json', { error: 'only "application/json" data is supported' }).optional(),
    data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
    actor: z.string().min(1).max(512).optional().describe('End-user id; HMAC-hashed at ingest, never stored raw'),
  })
  .loose();

/** A CloudEvent as sent. */
export type CloudEvent = z.infer<typeof cloudEventSchema>;
