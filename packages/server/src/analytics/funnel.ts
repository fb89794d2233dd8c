import type { FunnelQuery, FunnelStepRow } from './model.ts';
import type { AnalyticsStore } from './port.ts';

/** One step of a funnel answer. */
export interface FunnelStepAnswer {
  eventType: string;
  /** Subjects that reached this step (exact). */
  count: number;
  /** count / count of step 1 (0 when nobody started). */
  conversion: number;
  /** count / count of the previous step (1 for step 1). */
  conversionFromPrevious: number;
  /** Lower median of seconds from the previous step, over the subjects reaching this one; null for step 1 or nobody. */
  medianSecondsFromPrevious: number | null;
}

/** A funnel answer; `breakdown` holds the same steps per value of the breakdown property. */
export interface FunnelAnswer {
  steps: FunnelStepAnswer[];
  breakdown?: { value: string | null; steps: FunnelStepAnswer[] }[];
  approximate: false;
}

function stepsOf(q: FunnelQuery, rows: readonly FunnelStepRow[]): FunnelStepAnswer[] {
  const at = new Map(rows.map((r) => [r.step, r]));
  const counts = q.steps.map((_, i) => Number(at.get(i)?.count ?? 0n));
  return q.steps.map((s, i) => ({
    eventType: s.eventType,
    count: counts[i]!,
    conversion: counts[0] === 0 ? 0 : counts[i]! / counts[0]!,
    conversionFromPrevious: i === 0 ? 1 : counts[i - 1] === 0 ? 0 : counts[i]! / counts[i - 1]!,
    medianSecondsFromPrevious: i === 0 ? null : (at.get(i)?.medianMicrosFromPrevious ?? null) === null ? null : at.get(i)!.medianMicrosFromPrevious! / 1_000_000,
  }));
}

/** Answers a funnel from the store: the steps, and per breakdown value when one is asked. */
export async function funnel(store: AnalyticsStore, q: FunnelQuery): Promise<FunnelAnswer> {
  const rows = await store.funnel(q);
  if (!q.breakdown) return { steps: stepsOf(q, rows), approximate: false };
  // Medians do not add up across groups: the total is its own question.
  const overall = await store.funnel({ ...q, breakdown: undefined });
  const groups = [...new Set(rows.map((r) => r.group))].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return {
    steps: stepsOf(q, overall),
    breakdown: groups.map((g) => ({ value: g, steps: stepsOf(q, rows.filter((r) => r.group === g)) })),
    approximate: false,
  };
}
