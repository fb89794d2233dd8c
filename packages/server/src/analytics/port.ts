import type { AdoptionQuery, AdoptionRows, FunnelQuery, FunnelStepRow, RetentionCell, RetentionQuery } from './model.ts';

/**
 * The analytics port: exact answers computed where the raw events live (DuckDB or ClickHouse),
 * read-only. Every adapter runs `analytics/contract.ts` against the same plain TypeScript
 * recomputation.
 */
export interface AnalyticsStore {
  readonly engine: string;
  /** Per step (and breakdown group) the subjects reaching it, by the earliest complete path. */
  funnel(q: FunnelQuery): Promise<FunnelStepRow[]>;
  /** Cohort sizes (offset -1) and returning subjects per cohort and offset. */
  retention(q: RetentionQuery): Promise<RetentionCell[]>;
  adoption(q: AdoptionQuery): Promise<AdoptionRows>;
  close(): Promise<void>;
}
