import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { requireScope, type KeyService, type Principal, type Scope } from '../auth/keys.ts';
import { TallyError } from '../errors/registry.ts';
import { accessRecord } from '../privacy/access-log/record.ts';
import type { AccessRecorder } from '../privacy/access-log/recorder.ts';
import { parseRfc3339 } from '../shared/time.ts';

/** One documented response of a route. */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

/**
 * A route's contract: the same zod schemas validate requests and generate `/openapi.json`.
 * `validateBody: false` documents a body the handler validates itself (per-event ingest).
 */
export interface RouteSpec<Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  scope: Scope | null;
  query?: Q;
  body?: B;
  params?: P;
  validateBody?: boolean;
  responses: Record<number, ResponseSpec>;
}

/** What a handler receives: validated input and the caller. */
export interface RouteInput<Q, B, P> {
  query: Q;
  body: B;
  params: P;
  principal: Principal | null;
  req: FastifyRequest;
  reply: FastifyReply;
}

export function parseWith<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return value as z.infer<T>;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message }));
  throw new TallyError('VALIDATION_FAILED', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
}

/** An RFC 3339 time parameter (undefined when absent); anything else is a 400 naming `path`. */
export function timeParam(v: string | undefined, path: string): number | undefined {
  if (v === undefined) return undefined;
  const t = parseRfc3339(v);
  if (t === undefined) throw new TallyError('VALIDATION_FAILED', `${path}: "${v}" is not RFC 3339 (e.g. 2026-11-01T00:00:00Z)`, [{ path, message: 'not RFC 3339' }]);
  return t;
}

/** Registers routes and remembers their specs for the OpenAPI document. */
export class Router {
  readonly specs: RouteSpec[] = [];

  constructor(
    private readonly app: FastifyInstance,
    private readonly keys: KeyService,
    /** The access log: every call of a read or admin route is recorded before it is answered (docs/privacy.md). */
    private readonly access?: { recorder: AccessRecorder; nowMicros: () => number },
  ) {}

  add<Q extends z.ZodType, B extends z.ZodType, P extends z.ZodType>(
    spec: RouteSpec<Q, B, P>,
    handler: (input: RouteInput<z.infer<Q>, z.infer<B>, z.infer<P>>) => Promise<unknown>,
  ): void {
    this.specs.push(spec as unknown as RouteSpec);
    this.app.route({
      method: spec.method,
      url: spec.url,
      handler: async (req, reply) => {
        let principal: Principal | null = null;
        const logged = this.access !== undefined && (spec.scope === 'read' || spec.scope === 'admin');
        try {
          if (spec.scope !== null) {
            const h = req.headers.authorization;
            principal = this.keys.verify(h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined);
            requireScope(principal, spec.scope);
          }
          const input = {
            query: parseWith(spec.query, req.query, 'query'),
            body: spec.validateBody === false ? (req.body as z.infer<B>) : parseWith(spec.body, req.body, 'body'),
            params: parseWith(spec.params, req.params, 'params'),
            principal,
            req,
            reply,
          };
          const result = await handler(input);
          // A handler that sent a stream itself returns the reply: its rows are not countable here.
          if (logged) await this.log(spec, req, principal, reply.statusCode, result === reply ? undefined : result);
          return result;
        } catch (err) {
          // Refused and failed calls are accesses too; the original error is what the caller gets,
          // at once: they returned no data, so their entry need not be stored before the answer.
          if (logged) void this.log(spec, req, principal, err instanceof TallyError ? err.status : 500, undefined).catch(() => undefined);
          throw err;
        }
      },
    });
  }

  /** Appends the call's access entry (a failure to store it fails the call: reads are logged or not served). */
  private async log(spec: RouteSpec, req: FastifyRequest, principal: Principal | null, status: number, result: unknown): Promise<void> {
    try {
      await this.access!.recorder.record(accessRecord({ at: this.access!.nowMicros(), principal, scope: spec.scope!, method: spec.method, endpoint: spec.url, params: req.params, query: req.query, body: req.body, status, result }));
    } catch (err) {
      throw new TallyError('STORE_UNAVAILABLE', `the access log could not record this call, so it is not answered: ${(err as Error).message}`);
    }
  }
}
