import type { RetentionQuery } from './model.ts';
import { periodLabel, periodStart } from './period.ts';
import type { AnalyticsStore } from './port.ts';

/** One cohort row of the retention matrix. */
export interface RetentionCohort {
  /** The local date the cohort's period starts on (YYYY-MM-DD). */
  cohort: string;
  /** Subjects whose first start event fell in this period. */
  size: number;
  /** Per offset 0…periods: subjects with a return event that many periods after their cohort's. */
  returning: number[];
  /** How many offsets have begun before `to` (later cells are 0 because they are in the future of the range). */
  observed: number;
}

/** A retention answer. */
export interface RetentionAnswer {
  period: RetentionQuery['period'];
  timeZone: string;
  periods: number;
  cohorts: RetentionCohort[];
  approximate: false;
}

/** Answers a retention question: cohorts in period order, each with its returning counts. */
export async function retention(store: AnalyticsStore, q: RetentionQuery): Promise<RetentionAnswer> {
  const cells = await store.retention(q);
  const byCohort = new Map<number, { size: number; returning: number[] }>();
  for (const c of cells) {
    let row = byCohort.get(c.cohort);
    if (!row) byCohort.set(c.cohort, (row = { size: 0, returning: new Array<number>(q.periods + 1).fill(0) }));
    if (c.offset < 0) row.size = Number(c.count);
    else row.returning[c.offset] = Number(c.count);
  }
  const cohorts = [...byCohort.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([n, row]) => {
      let observed = 0;
      while (observed <= q.periods && periodStart(n + observed, q.period, q.timeZone) < q.to) observed++;
      return { cohort: periodLabel(n, q.period), size: row.size, returning: row.returning, observed };
    });
  return { period: q.period, timeZone: q.timeZone, periods: q.periods, cohorts, approximate: false };
}
