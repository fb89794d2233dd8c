import { z } from 'zod';
import { ERROR_CODES } from '../errors/registry.ts';
import { OPENMETER_PREFIX, problemSchema } from './routes/openmeter/problem.ts';
import type { RouteSpec } from './route.ts';

const errorEnvelope = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [string, ...string[]]),
    message: z.string(),
    requestId: z.string(),
    details: z.unknown().optional(),
  }),
});

function jsonSchema(s: z.ZodType): unknown {
  return z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
}

function queryParameters(s: z.ZodType | undefined): unknown[] {
  if (!s) return [];
  const js = jsonSchema(s) as { properties?: Record<string, unknown>; required?: string[] };
  const params = Object.entries(js.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: js.required?.includes(name) ?? false, schema }));
  return params;
}

/**
 * The OpenAPI 3.1 document, generated from the route specs (the same zod schemas that
 * validate requests) and the error registry.
 */
export function buildOpenApi(specs: readonly RouteSpec[], version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const s of specs) {
    const path = s.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const pathParams = [...s.url.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(s.responses)) {
      responses[status] = r.schema ? { description: r.description, content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema) } } } : { description: r.description };
    }
    responses.default = s.url.startsWith(OPENMETER_PREFIX)
      ? { description: 'Error, as an RFC 9457 problem (OpenMeter’s format; `code` from the error registry in docs/errors.md)', content: { 'application/problem+json': { schema: jsonSchema(problemSchema) } } }
      : { description: 'Error (see the error registry in docs/errors.md)', content: { 'application/json': { schema: jsonSchema(errorEnvelope) } } };
    const op: Record<string, unknown> = {
      summary: s.summary,
      tags: [s.tag],
      parameters: [...pathParams, ...queryParameters(s.query)],
      responses,
    };
    if (s.scope) op.security = [{ bearer: [s.scope] }];
    if (s.body) {
      const types = s.url.endsWith('/v1/events') ? ['application/cloudevents+json', 'application/cloudevents-batch+json', 'application/json'] : ['application/json'];
      op.requestBody = { required: true, content: Object.fromEntries(types.map((t) => [t, { schema: jsonSchema(s.body!) }])) };
    }
    (paths[path] ??= {})[s.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tally API', version, description: 'Exact usage metering, quotas and analytics for multi-tenant platforms.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key: scopes ingest, read, admin' } },
    },
    paths,
  };
}
