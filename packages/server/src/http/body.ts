import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { TallyError } from '../errors/registry.ts';

/** JSON media types every POST accepts (CloudEvents structured and batch modes, plain JSON). */
export const JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];

/**
 * Registers the body parsers: JSON media types, optionally gzip-compressed, with the byte
 * limit applied to the decompressed size as well (a small gzip bomb answers 413).
 */
export function registerBodyParsers(app: FastifyInstance, maxBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer', bodyLimit: maxBytes }, (req, body, done) => {
    let buf = body as Buffer;
    const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (enc === 'gzip') {
      try {
        buf = gunzipSync(buf, { maxOutputLength: maxBytes });
      } catch (err) {
        const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|too large/i.test((err as Error).message);
        done(tooLarge ? new TallyError('PAYLOAD_TOO_LARGE', `the decompressed body exceeds ${maxBytes} bytes`) : new TallyError('MALFORMED_JSON', 'the body is not valid gzip'), undefined);
        return;
      }
    } else if (enc !== 'identity') {
      done(new TallyError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${enc}" is not supported (use gzip or none)`), undefined);
      return;
    }
    if (buf.length === 0) {
      done(new TallyError('MALFORMED_JSON', 'the body is empty'), undefined);
      return;
    }
    try {
      done(null, JSON.parse(buf.toString('utf8')));
    } catch (err) {
      done(new TallyError('MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
}
