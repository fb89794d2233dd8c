import type { EpochMicros } from '../shared/time.ts';
import type { JobRun, RunStatus } from './job.ts';

/** Which runs to list. */
export interface RunFilter {
  job?: string;
  key?: string;
  status?: RunStatus;
  /** At most this many, newest first (default 100). */
  limit?: number;
}

/**
 * The record of job runs (DESIGN.md: every run is recorded and visible). Adapters: DuckDB
 * (embedded) and ClickHouse (distributed); both run `run-repo-contract.ts`.
 */
export interface JobRunRepo {
  /** Records a run that starts now (status `running`). */
  insert(run: JobRun): Promise<void>;
  /** Records how a run ended. */
  finish(run: JobRun, end: { status: Exclude<RunStatus, 'running'>; endedAt: EpochMicros; output: Record<string, unknown> | null; error: string | null }): Promise<void>;
  /** Runs, newest first. */
  list(filter: RunFilter): Promise<JobRun[]>;
  close(): Promise<void>;
}
