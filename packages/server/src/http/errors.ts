import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
  FST_ERR_BAD_URL: 'MALFORMED_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_ASYNC_CONSTRAINT: 'MALFORMED_REQUEST',
};

/** Maps any thrown error to a registry code; unknown errors become INTERNAL. */
export function toTallyError(err: unknown): TallyError {
  if (err instanceof TallyError) return err;
  const fe = err as FastifyError;
  const code = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (code) return new TallyError(code, fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 414) return new TallyError('URI_TOO_LONG', fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 413) return new TallyError('PAYLOAD_TOO_LARGE', fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 415) return new TallyError('UNSUPPORTED_MEDIA_TYPE', fe.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new TallyError('VALIDATION_FAILED', fe.message);
  return new TallyError('INTERNAL', 'internal error');
}

/** Fastify error handler: logs server faults, answers the envelope. */
export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const te = toTallyError(err);
  // Refusing load is the overload guard working, not a fault: counted on /metrics
  // (tally_http_refused_total), logged without a stack so a burst doesn't flood the console.
  if (te.code === 'OVERLOADED') req.log.debug({ code: te.code }, te.message);
  else if (te.status >= 500) req.log.error({ err }, 'request failed');
  // A route that knows the wait (a rate limit or quota reset) has set Retry-After already.
  if ((te.code === 'STORE_UNAVAILABLE' || te.code === 'OVERLOADED' || te.code === 'RATE_LIMITED') && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
  const body: ErrorEnvelope = { error: { code: te.code, message: te.message, requestId: String(req.id) } };
  // Errors raised before the onRequest hook (bad URL encoding) still carry the request id.
  if (!reply.hasHeader('x-request-id')) void reply.header('x-request-id', String(req.id));
  if (te.details !== undefined) body.error.details = te.details;
  return reply.code(ERROR_CODES[te.code].status).type('application/json').send(body);
}

/** A new request id, in the form Fastify's `genReqId` gives routes. */
export function newRequestId(): string {
  return `req_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

/** Node's client errors (raised before Fastify sees a request) → registry code. */
function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'MALFORMED_REQUEST';
}

/**
 * Fastify's `clientErrorHandler`: Node's parser errors (431 headers too large, a malformed
 * request line, a request timeout) answered with the same envelope as every other error,
 * then the connection closed (the parser cannot go on after them).
 */
export function sendClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const code = clientErrorCode(err);
  const requestId = newRequestId();
  const message = code === 'HEADERS_TOO_LARGE' ? 'the request line and headers exceed the size limit' : code === 'REQUEST_TIMEOUT' ? 'the request was not received in time' : `malformed HTTP request (${err.code ?? 'parse error'})`;
  const body = JSON.stringify({ error: { code, message, requestId } } satisfies ErrorEnvelope);
  const status = ERROR_CODES[code].status;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Node answers an `Expect` header other than `100-continue` with a bare 417 unless the server
 * listens for `checkExpectation`: this answers it with the envelope instead.
 */
export function sendExpectationFailed(req: IncomingMessage, res: ServerResponse): void {
  const requestId = newRequestId();
  const body = JSON.stringify({ error: { code: 'EXPECTATION_FAILED', message: `Expect: "${String(req.headers.expect ?? '')}" is not supported (only 100-continue)`, requestId } } satisfies ErrorEnvelope);
  res.writeHead(ERROR_CODES.EXPECTATION_FAILED.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId, connection: 'close' });
  res.end(body);
}
