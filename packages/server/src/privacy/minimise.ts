import { z } from 'zod';
import { compilePath } from '../meters/json-path.ts';
import type { MeterDefinition } from '../meters/meter.ts';

/**
 * Data minimisation: per event type, the `data` properties Tally keeps. Everything else is
 * dropped before validation and storage — never stored, never hashed into the dedupe content
 * — and the event's receipt names what was dropped. Types without a list keep their data as
 * sent. Meters may only read kept properties (checked when config loads and when a meter is
 * created), so a number never silently changes because its input was dropped.
 */
export const privacySchema = z
  .object({
    allowedProperties: z
      .record(z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(1000))
      .default({})
      .describe('event type → the top-level `data` properties kept; the others are dropped before storage and named in the receipt (types not listed keep everything)'),
  })
  .strict();

/** The config's `privacy` section. */
export type PrivacyConfig = z.infer<typeof privacySchema>;

/** What minimising one event did. */
export interface Minimised {
  /** The event to validate and store (the original object when nothing was dropped). */
  item: unknown;
  /** The dropped property names, sorted; undefined when none. */
  dropped?: string[];
}

/** Applies the allow-lists of `privacy.allowedProperties` (see the module comment). */
export class DataMinimiser {
  private readonly allowed: Map<string, Set<string>>;

  constructor(allowedProperties: Record<string, readonly string[]> = {}) {
    this.allowed = new Map(Object.entries(allowedProperties).map(([type, props]) => [type, new Set(props)]));
  }

  /** True when no type has a list (ingest then skips minimising entirely). */
  get empty(): boolean {
    return this.allowed.size === 0;
  }

  /** The event with its type's unlisted `data` properties removed (a copy; the input is untouched). */
  apply(item: unknown): Minimised {
    if (item === null || typeof item !== 'object') return { item };
    const e = item as { type?: unknown; data?: unknown };
    if (typeof e.type !== 'string') return { item };
    const keep = this.allowed.get(e.type);
    const data = e.data;
    if (!keep || data === null || typeof data !== 'object' || Array.isArray(data)) return { item };
    let dropped: string[] | undefined;
    for (const k of Object.keys(data)) if (!keep.has(k)) (dropped ??= []).push(k);
    if (!dropped) return { item };
    const kept: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(data)) if (keep.has(k)) kept[k] = v;
    return { item: { ...(item as object), data: kept }, dropped: dropped.sort() };
  }

  /** Why a meter cannot be defined under the allow-lists (it reads a dropped property), or undefined. */
  meterProblem(def: MeterDefinition): string | undefined {
    const keep = this.allowed.get(def.eventType);
    if (!keep) return undefined;
    const paths = [...(def.valueProperty && def.valueProperty !== '$actor' ? [def.valueProperty] : []), ...Object.values(def.groupBy), ...Object.keys(def.filter ?? {})];
    for (const p of paths) {
      const compiled = compilePath(p);
      const top = typeof compiled === 'string' ? undefined : compiled[0];
      if (typeof top === 'string' && !keep.has(top)) return `meter "${def.slug}" reads ${p}, but privacy.allowedProperties for "${def.eventType}" drops "${top}" before storage (allowed: ${[...keep].sort().join(', ') || 'none'})`;
      if (typeof top === 'number') return `meter "${def.slug}" reads ${p}, but "${def.eventType}" data is minimised to named properties`;
    }
    return undefined;
  }
}
