import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, TallyError, type ErrorCode } from '../errors/registry.ts';

/** The JSON error envelope every failure answers with. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string; details?: unknown };
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

/** Maps any thrown error to a registry code; unknown errors become INTERNAL. */
export function toTallyError(err: unknown): TallyError {
  if (err instanceof TallyError) return err;
  const fe = err as FastifyError;
  const code = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (code) return new TallyError(code, fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 413) return new TallyError('PAYLOAD_TOO_LARGE', fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 415) return new TallyError('UNSUPPORTED_MEDIA_TYPE', fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new TallyError('VALIDATION_FAILED', fe.message);
  return new TallyError('INTERNAL', 'internal error');
}

/** Fastify error handler: logs server faults, answers the envelope. */
export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const te = toTallyError(err);
  if (te.status >= 500) req.log.error({ err }, 'request failed');
  // A route that knows the wait (a rate limit or quota reset) has set Retry-After already.
  if ((te.code === 'STORE_UNAVAILABLE' || te.code === 'RATE_LIMITED') && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
  const body: ErrorEnvelope = { error: { code: te.code, message: te.message, requestId: String(req.id) } };
  if (te.details !== undefined) body.error.details = te.details;
  return reply.code(ERROR_CODES[te.code].status).type('application/json').send(body);
}
