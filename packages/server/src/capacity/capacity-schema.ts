import { z } from 'zod';

const days = (d: number, what: string) => z.number().int().min(1).max(36_500).default(d).describe(what);

/** Retention per storage tier, in days: what the planner multiplies by (privacy's retention jobs enforce it). */
export const retentionSchema = z
  .object({
    raw: days(400, 'raw events (billing disputes and recomputation need them beyond the month)'),
    minute: days(35, 'minute rollups and pending deltas'),
    hour: days(400, 'hour rollups'),
    day: days(1825, 'day rollups'),
    unique: days(35, 'per-minute unique facts (UNIQUE_COUNT)'),
  })
  .strict();

/** `capacity` in the config: the planner's retention per tier and the meter that counts events. */
export const capacitySchema = z
  .object({
    retentionDays: retentionSchema.default(retentionSchema.parse({})),
    quotaForecasts: z
      .boolean()
      .default(true)
      .describe('run the hourly quota-forecasts job (Holt-Winters per tenant and day/month quota with usage in the last 28 days; about a second of CPU per tenant-entitlement and hour); false: quota projections stay linear'),
    eventsMeter: z.string().optional().describe('a COUNT meter whose forecast stands for events per day (default: the first COUNT meter without a filter)'),
  })
  .strict();

/** Retention days per tier. */
export type RetentionDays = z.infer<typeof retentionSchema>;
/** The capacity config. */
export type CapacityConfig = z.infer<typeof capacitySchema>;
