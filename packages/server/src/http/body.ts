import { isUtf8 } from 'node:buffer';
import { gunzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TallyError } from '../errors/registry.ts';

/** JSON media types every POST accepts (CloudEvents structured and batch modes, plain JSON). */
export const JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];

/**
 * The shared budget of body bytes in flight (`Admission` in overload.ts): how far one body may
 * grow once decompressed, and the request's count once its size is known.
 */
export interface BodyBudget {
  /** The most bytes the request's body may count in total (its own limit or what the budget has left). */
  room(req: FastifyRequest): number;
  /** Counts the body as `total` bytes; false when the budget cannot take it. */
  grow(req: FastifyRequest, total: number): boolean;
  /** The error a body refused for the budget (not its own size) answers with. */
  bytesRefusal(): TallyError;
  /** Resolves when the request may be parsed and handled (ingest bodies take turns). */
  turn(req: FastifyRequest): Promise<void>;
}

const isTooLarge = (err: Error) => (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|too large/i.test(err.message);

/**
 * gunzip on libuv's thread pool (not the event loop), stopping at `limit` output bytes. Output
 * in 256 KiB pieces: with zlib's 16 KiB default, the per-piece callbacks on the event loop cost
 * three times the CPU of gunzipSync (measured: 12 vs 3.8 ms for a 1 MiB body); at 256 KiB about the same.
 */
function gunzipAtMost(buf: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => gunzip(buf, { maxOutputLength: Math.max(1, limit), chunkSize: 256 * 1024 }, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * Registers the body parsers: JSON media types, optionally gzip-compressed, with the byte
 * limit applied to the decompressed size as well (a small gzip bomb answers 413). With a
 * `budget`, a body that would exceed the bytes in flight once decompressed is refused
 * (`OVERLOADED`, retriable) before it is parsed.
 */
export function registerBodyParsers(app: FastifyInstance, maxBytes: number, budget?: BodyBudget): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer', bodyLimit: maxBytes }, async (req: FastifyRequest, body: Buffer | string) => {
    let buf = body as Buffer;
    const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (enc === 'gzip') {
      const room = budget?.room(req) ?? maxBytes;
      try {
        buf = await gunzipAtMost(buf, room);
      } catch (err) {
        if (!isTooLarge(err as Error)) throw new TallyError('MALFORMED_JSON', 'the body is not valid gzip');
        // Over what the budget had left but within its own limit: retriable, not 413.
        throw room < maxBytes ? (budget?.bytesRefusal() ?? new TallyError('PAYLOAD_TOO_LARGE', `the decompressed body exceeds ${maxBytes} bytes`)) : new TallyError('PAYLOAD_TOO_LARGE', `the decompressed body exceeds ${maxBytes} bytes`);
      }
    } else if (enc !== 'identity') {
      throw new TallyError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${enc}" is not supported (use gzip or none)`);
    }
    // From here on the body counts at its decompressed size (a chunked one, which announced no length, for the first time).
    if (budget && !budget.grow(req, buf.length)) throw budget.bytesRefusal();
    if (buf.length === 0) throw new TallyError('MALFORMED_JSON', 'the body is empty');
    // Decoding would turn a stray byte (0xFF) into U+FFFD: "ctl-\xff" would merge into tenant "ctl-\ufffd".
    if (!isUtf8(buf)) throw new TallyError('MALFORMED_JSON', 'the body is not valid UTF-8');
    await budget?.turn(req);
    try {
      return JSON.parse(buf.toString('utf8')) as unknown;
    } catch (err) {
      throw new TallyError('MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message}`);
    }
  });
}
