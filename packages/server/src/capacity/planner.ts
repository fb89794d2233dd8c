import type { RetentionDays } from './capacity-schema.ts';
import type { StorageMeasure, Tier } from './storage-stats.ts';

/** One tier of the plan. */
export interface TierPlan {
  tier: Tier;
  tables: string[];
  bytesNow: number;
  rowsNow: number;
  /** Measured bytes now / events stored now. */
  bytesPerEvent: number;
  /** null: the tier does not grow with events (catalog, keys, invoices) and is kept as measured. */
  retentionDays: number | null;
  projectedBytes: number;
}

/** The storage plan. */
export interface StoragePlan {
  storedEvents: number;
  eventsPerDay: number;
  tiers: TierPlan[];
  total: { bytesNow: number; bytesPerEvent: number; projectedBytes: number };
}

/**
 * The design's storage formula with measured inputs: per tier, bytes per event (what the tier
 * occupies now over the events stored now) × events per day × the tier's retention in days. Rollup
 * tiers grow with distinct (window, tenant, dimensions) cells rather than events, so at a steady
 * mix the measured ratio holds and at growing traffic it over-states them (a safe side).
 */
export function planStorage(m: StorageMeasure, storedEvents: number, eventsPerDay: number, retention: RetentionDays): StoragePlan {
  const tiers = m.tiers.map((t): TierPlan => {
    const bytesPerEvent = storedEvents > 0 ? t.bytes / storedEvents : 0;
    const days = t.tier === 'other' ? null : retention[t.tier];
    return { tier: t.tier, tables: t.tables, bytesNow: t.bytes, rowsNow: t.rows, bytesPerEvent, retentionDays: days, projectedBytes: days === null ? t.bytes : Math.round(bytesPerEvent * eventsPerDay * days) };
  });
  const bytesNow = tiers.reduce((s, t) => s + t.bytesNow, 0);
  return {
    storedEvents,
    eventsPerDay,
    tiers,
    total: { bytesNow, bytesPerEvent: storedEvents > 0 ? bytesNow / storedEvents : 0, projectedBytes: tiers.reduce((s, t) => s + t.projectedBytes, 0) },
  };
}
