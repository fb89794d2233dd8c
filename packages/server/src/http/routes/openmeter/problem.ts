import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ErrorEnvelope } from '../../errors.ts';

/** The path prefix of the OpenMeter-compatible API. */
export const OPENMETER_PREFIX = '/api/v1/';

/**
 * An RFC 9457 problem as OpenMeter answers errors, carrying Tally's error envelope as the
 * extension member `error`: OpenMeter clients read `title` and `detail`, Tally clients (and the
 * rule that every error has the envelope) read `error.code`, `error.requestId`, `error.details`.
 */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  instance: z.string(),
  error: z.object({
    code: z.string().describe('the error registry code (docs/errors.md)'),
    message: z.string(),
    requestId: z.string(),
    details: z.unknown().optional(),
  }),
});

function isEnvelope(v: unknown): v is ErrorEnvelope {
  const e = (v as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === 'string' && typeof e.message === 'string';
}

/** The problem document for an error envelope answered with `status`. */
export function toProblem(envelope: ErrorEnvelope, status: number): z.infer<typeof problemSchema> {
  const { message, requestId } = envelope.error;
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail: message, instance: `urn:request:${requestId}`, error: envelope.error };
}

/**
 * Answers errors under /api/v1 as `application/problem+json` (OpenMeter's clients read the
 * problem only when the media type is exactly that), and success bodies as `application/json`
 * without the charset parameter (earlier OpenMeter clients compare the media type exactly; JSON
 * is UTF-8 by definition). Done once, on the way out, so every error of these routes (auth,
 * validation, not found, the store) is converted, whichever code raised it.
 */
export function registerProblemDetails(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.url.startsWith(OPENMETER_PREFIX)) return payload;
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/json')) return payload;
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload);
      } catch {
        return payload;
      }
      if (isEnvelope(parsed)) {
        void reply.header('content-type', 'application/problem+json');
        return JSON.stringify(toProblem(parsed, reply.statusCode));
      }
    }
    void reply.header('content-type', 'application/json');
    return payload;
  });
}
