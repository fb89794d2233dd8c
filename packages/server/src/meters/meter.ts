import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IDENTIFIER_LIMITS, identifierSchema } from '../events/identifiers.ts';
import type { Kept } from '../usage/components.ts';
import { canonicalFilter, compileFilter, meterFilterSchema, type CompiledFilter } from './filter.ts';
import { compilePath, type CompiledPath } from './json-path.ts';

/** Aggregations a meter can apply, as in OpenMeter. */
export const AGGREGATIONS = ['COUNT', 'SUM', 'UNIQUE_COUNT', 'MIN', 'MAX', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** Time units a TIME_WEIGHTED_SUM integrates over (value × unit: GB-hours, seat-days). */
export const TIME_UNITS = ['SECOND', 'MINUTE', 'HOUR', 'DAY'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** Most `groupBy` dimensions a meter may declare (each becomes a rollup column). */
export const MAX_DIMENSIONS = 8;

/** `valueProperty` that names the hashed end user instead of a path into `data`. */
export const ACTOR_VALUE = '$actor';

const pathSchema = z.string().min(2).superRefine((p, ctx) => {
  const compiled = compilePath(p);
  if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', message: `invalid path: ${compiled}` });
});

/** The schema of a meter definition, shared by the config file and `POST /v1/meters`. */
export const meterSchema = z
  .object({
    slug: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "-" and "_", at most 63 characters'),
    description: z.string().max(500).optional(),
    eventType: identifierSchema(IDENTIFIER_LIMITS.type),
    aggregation: z.enum(AGGREGATIONS),
    valueProperty: z.string().optional().describe('JSONPath into `data` ($.tokens); for UNIQUE_COUNT also "$actor"'),
    groupBy: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a dimension name is a letter or "_" then letters, digits or "_"'), pathSchema)
      .default({})
      .describe('dimension name → JSONPath into `data`'),
    filter: meterFilterSchema.optional(),
    unit: z
      .string()
      .regex(/^[^\p{Cc}]{1,16}$/u, 'at most 16 printable characters')
      .optional()
      .describe('what one unit of the value is, for display (ms, bytes, tokens, requests; an ISO 4217 code such as USD for money)'),
    precision: z.number().int().min(0).max(12).optional().describe('fractional digits to display (default: 0 for COUNT and UNIQUE_COUNT, as stored otherwise)'),
    timeUnit: z
      .enum(TIME_UNITS)
      .optional()
      .describe('TIME_WEIGHTED_SUM only: the time unit of the integral (value × HOUR = GB-hours); default HOUR'),
  })
  .strict()
  .superRefine((m, ctx) => {
    const needsValue = m.aggregation !== 'COUNT';
    if (needsValue && !m.valueProperty) ctx.addIssue({ code: 'custom', path: ['valueProperty'], message: `${m.aggregation} needs a valueProperty` });
    if (!needsValue && m.valueProperty) ctx.addIssue({ code: 'custom', path: ['valueProperty'], message: 'COUNT takes no valueProperty' });
    if (m.valueProperty === ACTOR_VALUE && m.aggregation !== 'UNIQUE_COUNT') ctx.addIssue({ code: 'custom', path: ['valueProperty'], message: '"$actor" is only allowed for UNIQUE_COUNT' });
    if (m.valueProperty && m.valueProperty !== ACTOR_VALUE && typeof compilePath(m.valueProperty) === 'string') {
      ctx.addIssue({ code: 'custom', path: ['valueProperty'], message: `invalid path: ${compilePath(m.valueProperty) as string}` });
    }
    if (m.timeUnit !== undefined && m.aggregation !== 'TIME_WEIGHTED_SUM') ctx.addIssue({ code: 'custom', path: ['timeUnit'], message: 'timeUnit is only for TIME_WEIGHTED_SUM' });
    const dims = Object.keys(m.groupBy);
    if (dims.length > MAX_DIMENSIONS) ctx.addIssue({ code: 'custom', path: ['groupBy'], message: `at most ${MAX_DIMENSIONS} dimensions` });
    if (dims.includes('tenant')) ctx.addIssue({ code: 'custom', path: ['groupBy', 'tenant'], message: '"tenant" is built in; pick another dimension name' });
  });

/** A meter as declared. */
export type MeterDefinition = z.infer<typeof meterSchema>;

/** A meter ready to evaluate: paths compiled, dimensions in a fixed (sorted) order. */
export interface Meter {
  readonly def: MeterDefinition;
  readonly slug: string;
  readonly dimensions: readonly string[];
  readonly dimensionPaths: readonly CompiledPath[];
  /** undefined for COUNT; 'actor' for UNIQUE_COUNT over end users. */
  readonly value: CompiledPath | 'actor' | undefined;
  /**
   * Equal for meters that read exactly the same from every event (same value path, same
   * dimension paths in the same order, same kind of value): ingest evaluates one of them and
   * reuses the reading (e.g. AVG, MIN and MAX of one property per route).
   */
  readonly readingKey: string;
  /** Equal for meters whose dimension paths are the same (in the same order): they read the same dimension values from an event. */
  readonly dimsKey: string;
  /**
   * The rollup series holding this meter's rows (the `meter` of its rollup deltas and of the
   * store queries for it). COUNT meters of one event type with the same dimension paths share
   * one series, and so do SUM, AVG, MIN and MAX meters of one value with the same dimension
   * paths (it keeps count, sum, min and max): AVG, MIN and MAX of a latency per route are one
   * row per bucket, not three. LATEST, TIME_WEIGHTED_SUM and UNIQUE_COUNT meters keep their own
   * (the slug); a TIME_WEIGHTED_SUM series keeps the latest sample per bucket (its carry-in).
   */
  readonly series: string;
  /** The components the series keeps. */
  readonly kept: Kept;
  /** The compiled `filter`: events of the type it rejects do not count for this meter. */
  readonly filter: CompiledFilter | undefined;
}

/** Aggregations answered from a shared stats series (count, sum, min, max). */
const STATS_AGGREGATIONS = new Set<Aggregation>(['SUM', 'AVG', 'MIN', 'MAX']);

/** Compiles a validated definition. Dimension order is sorted so it never depends on key order. */
export function compileMeter(def: MeterDefinition): Meter {
  const dimensions = Object.keys(def.groupBy).sort();
  const dimensionPaths = dimensions.map((d) => compilePath(def.groupBy[d]!) as CompiledPath);
  const value = def.valueProperty === undefined ? undefined : def.valueProperty === ACTOR_VALUE ? 'actor' : (compilePath(def.valueProperty) as CompiledPath);
  const dimsKey = JSON.stringify(dimensions.map((d) => def.groupBy[d]!));
  // A filter is part of what a meter reads: only meters with the same filter share readings
  // and series. Unfiltered meters keep the keys they had before filters existed.
  const filtered = def.filter === undefined ? [] : [canonicalFilter(def.filter)];
  const readingKey = JSON.stringify([def.aggregation === 'UNIQUE_COUNT' ? 'unique' : 'value', def.valueProperty ?? null, dimensions.map((d) => def.groupBy[d]!), ...filtered]);
  const family = def.aggregation === 'COUNT' ? 'COUNT' : STATS_AGGREGATIONS.has(def.aggregation) ? 'STATS' : undefined;
  const series = family === undefined ? def.slug : `~${createHash('sha256').update(JSON.stringify([def.eventType, family, def.valueProperty ?? null, dimensions.map((d) => def.groupBy[d]!), ...filtered])).digest('base64url').slice(0, 16)}`;
  const filter = def.filter === undefined ? undefined : compileFilter(def.filter);
  // A time-weighted series keeps each bucket's latest sample: the value held into the next bucket.
  const kept = family ?? (def.aggregation === 'TIME_WEIGHTED_SUM' ? 'LATEST' : def.aggregation);
  return { def, slug: def.slug, dimensions, dimensionPaths, value, readingKey, dimsKey, series, kept, filter };
}

/** Canonical JSON of a definition, used to tell an identical re-declaration from a change. */
export function canonicalMeter(def: MeterDefinition): string {
  const groupBy = Object.fromEntries(Object.entries(def.groupBy).sort(([a], [b]) => a.localeCompare(b)));
  // Display fields (description, unit, precision) are not part of a meter's identity.
  return JSON.stringify({ slug: def.slug, eventType: def.eventType, aggregation: def.aggregation, valueProperty: def.valueProperty ?? null, groupBy, ...(def.filter === undefined ? {} : { filter: canonicalFilter(def.filter) }), ...(def.timeUnit === undefined ? {} : { timeUnit: def.timeUnit }) });
}
