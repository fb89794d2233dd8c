import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RequestTrackingOptions } from './record.ts';
import { measure, record, UNMATCHED } from './record.ts';
import { mountTemplate } from './express-mount.ts';

interface RouteLike {
  path?: unknown;
}

/**
 * Express 5 middleware recording one `api.request` per request. Mount it first (`app.use(...)`);
 * it records when the response is done, so thrown handlers and error handlers are included.
 */
export function tallyExpress(options: RequestTrackingOptions<Request>): RequestHandler {
  const unmatched = options.unmatchedRoute ?? UNMATCHED;
  return (req: Request, res: Response, next: NextFunction) => {
    let route: RouteLike | undefined;
    let base = '';
    // The router sets req.route when a route matches; req.baseUrl is only right at that moment
    // (Express restores it while an error travels back up through the routers).
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (r: RouteLike) => {
        route = r;
        base = req.baseUrl;
      },
    });
    measure(req, res, (status, durationMs, requestBytes, responseBytes, aborted) => {
      let template = unmatched;
      if (route && typeof route.path === 'string') {
        const stack = (req.app as unknown as { router?: { stack?: [] } }).router?.stack;
        const mount = mountTemplate(stack, base);
        template = mount === undefined ? unmatched : mount + route.path;
      }
      record(options, req, template, req.method, status, durationMs, requestBytes, responseBytes, aborted, undefined);
    });
    next();
  };
}
