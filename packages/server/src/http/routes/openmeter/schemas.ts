import { z } from 'zod';
import { AGGREGATIONS } from '../../../meters/meter.ts';
import { windowSizeSchema } from '../query.ts';

/**
 * The shapes of OpenMeter's v1 API (openmeterio/openmeter api/openapi.yaml) that Tally serves
 * under /api/v1: they validate requests and document the routes in /openapi.json.
 */

/** OpenMeter's meter slug: lowercase letters and digits in `_`-separated words, at most 64 characters. */
export const OPENMETER_SLUG = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

const metadata = z.record(z.string(), z.string()).nullable();

/** POST /api/v1/meters. */
export const meterCreateSchema = z
  .object({
    slug: z.string().min(1).max(64).regex(OPENMETER_SLUG, 'lowercase letters and digits, words separated by "_" (OpenMeter\'s slug pattern)'),
    name: z.string().min(1).max(256).optional().describe('display name; defaults to the slug'),
    description: z.string().max(1024).optional(),
    metadata: metadata.optional(),
    aggregation: z.enum(AGGREGATIONS),
    eventType: z.string().min(1),
    eventFrom: z.string().optional().describe('RFC 3339: events before it are left out of answers'),
    valueProperty: z.string().min(1).optional().describe('JSONPath into `data`; ignored for COUNT'),
    groupBy: z.record(z.string(), z.string()).optional().describe('dimension name → JSONPath into `data`'),
  })
  .strip();

/** PUT /api/v1/meters/{meterIdOrSlug}: what can change without rewriting history. */
export const meterUpdateSchema = z
  .object({
    name: z.string().min(1).max(256).optional(),
    description: z.string().max(1024).optional(),
    metadata: metadata.optional(),
    groupBy: z.record(z.string(), z.string()).optional().describe('must equal the current group-by: dimensions cannot change in place'),
  })
  .strip();

/** A meter as OpenMeter answers it. */
export const meterSchema = z.object({
  id: z.string().describe('ULID'),
  slug: z.string(),
  name: z.string(),
  description: z.string().optional(),
  metadata: metadata.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deletedAt: z.string().optional(),
  aggregation: z.enum(AGGREGATIONS),
  eventType: z.string(),
  eventFrom: z.string().optional(),
  valueProperty: z.string().optional(),
  groupBy: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).describe('`tally.meter`: the Tally meter (native API slug) serving this meter'),
});

/** GET /api/v1/meters parameters. */
export const meterListSchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(1000).default(100),
  order: z.enum(['ASC', 'DESC']).default('ASC'),
  orderBy: z.enum(['key', 'name', 'aggregation', 'createdAt', 'updatedAt']).default('key'),
  includeDeleted: z.enum(['true', 'false']).default('false'),
});

const list = z.union([z.string(), z.array(z.string())]);

/** GET …/query parameters (`filterGroupBy[dim]=value` are read apart from these). */
export const meterQueryParamsSchema = z
  .object({
    clientId: z.string().min(1).max(36).optional().describe('accepted and ignored (OpenMeter uses it to track progress)'),
    from: z.string().optional().describe('RFC 3339, inclusive'),
    to: z.string().optional().describe('RFC 3339, exclusive; default: now'),
    windowSize: windowSizeSchema.optional().describe('MINUTE, HOUR, DAY or MONTH (any letter case); omit for one row per group'),
    windowTimeZone: z.string().optional().describe('IANA zone; default UTC'),
    subject: list.optional().describe('filter by subjects (tenants); also groups by subject'),
    groupBy: list.optional().describe('dimensions, and/or the reserved "subject"'),
  })
  .catchall(list);

/** POST …/query body. */
export const meterQueryBodySchema = z
  .object({
    clientId: z.string().min(1).max(36).optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    windowSize: windowSizeSchema.optional(),
    windowTimeZone: z.string().optional(),
    subject: z.array(z.string()).optional(),
    groupBy: z.array(z.string()).optional(),
    filterGroupBy: z.record(z.string(), z.array(z.string())).optional(),
    filterCustomerId: z.array(z.string()).optional().describe('not supported (Tally has no customer entity): 400'),
    advancedMeterGroupByFilters: z.record(z.string(), z.unknown()).optional().describe('not supported: use filterGroupBy (400)'),
  })
  .strict();

/** A query answer as OpenMeter gives it (`value` a JSON number: see docs/openmeter.md on exactness). */
export const meterQueryResultSchema = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  windowSize: z.string().optional(),
  data: z.array(
    z.object({
      value: z.number().nullable(),
      windowStart: z.string(),
      windowEnd: z.string(),
      subject: z.string().nullable(),
      groupBy: z.record(z.string(), z.string().nullable()),
    }),
  ),
});

/** One CloudEvent as OpenMeter accepts it: `time`, `data`, `datacontenttype` optional or null. */
export const openMeterEventSchema = z
  .object({
    specversion: z.string(),
    id: z.string(),
    source: z.string(),
    type: z.string(),
    subject: z.string(),
    time: z.string().nullable().optional().describe('RFC 3339; absent or null: the receive time'),
    datacontenttype: z.literal('application/json').nullable().optional(),
    dataschema: z.string().nullable().optional(),
    data: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .loose();

/** POST /api/v1/portal/tokens body. */
export const portalTokenCreateSchema = z
  .object({
    subject: z.string().min(1).describe('the tenant the token may read'),
    allowedMeterSlugs: z.array(z.string().min(1)).max(1000).optional().describe('only these meters; absent: every meter'),
    expiresAt: z.string().optional().describe('RFC 3339; default: one hour from now'),
  })
  .strip();

/** A portal token as OpenMeter answers it. */
export const portalTokenSchema = z.object({
  id: z.string().describe('the Tally key id (revocable with DELETE /v1/keys/{id})'),
  subject: z.string(),
  expiresAt: z.string(),
  expired: z.boolean(),
  createdAt: z.string(),
  token: z.string().optional().describe('only in the create answer'),
  allowedMeterSlugs: z.array(z.string()).optional(),
});
