import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTrackingOptions } from './record.ts';
import { measure, record, UNMATCHED } from './record.ts';

/** Options for plain node:http, where routing is the application's. */
export interface NodeTrackingOptions extends RequestTrackingOptions<IncomingMessage> {
  /** The route template of a request (resolved when it ends); undefined: the unmatched label. */
  route: (req: IncomingMessage, res: ServerResponse) => string | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

const nameOf = (err: unknown) => (err instanceof Error ? err.name : typeof err);

/**
 * Wraps a node:http request listener so each request records one `api.request`. A handler that
 * throws (or rejects) is recorded with `error` set when its response ends, and the error is
 * rethrown unchanged: wrapping never alters what the application does.
 */
export function tallyNode<H extends Handler>(handler: H, options: NodeTrackingOptions): (req: IncomingMessage, res: ServerResponse) => ReturnType<H> {
  const unmatched = options.unmatchedRoute ?? UNMATCHED;
  return (req, res) => {
    let error: string | undefined;
    measure(req, res, (status, durationMs, requestBytes, responseBytes, aborted) => {
      let route: string | undefined;
      try {
        route = options.route(req, res);
      } catch {
        route = undefined;
      }
      record(options, req, route ?? unmatched, req.method ?? 'GET', status, durationMs, requestBytes, responseBytes, aborted, error);
    });
    let result: unknown;
    try {
      result = handler(req, res);
    } catch (err) {
      error = nameOf(err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(undefined, (err: unknown) => {
        error = nameOf(err);
        throw err;
      }) as ReturnType<H>;
    }
    return result as ReturnType<H>;
  };
}
