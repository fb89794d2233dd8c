import type { EpochMicros } from '../shared/time.ts';

/** Where a run is: running (or crashed while running), succeeded, failed. */
export const RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** What a run of a job gets: its key and range, a fencing check, a progress reporter. */
export interface JobContext {
  /** The unit of work, e.g. `invoice:2026-11:acme` (the job name, then its range). */
  readonly key: string;
  /** The range part of the key (`2026-11:acme`); empty for a job without one. */
  readonly range: string;
  /** 1 for the first attempt of this key, 2 after a crash or a failure… */
  readonly attempt: number;
  readonly now: EpochMicros;
  /**
   * Throws when this node no longer holds the job's lease: call it right before committing
   * output, so a node that lost its lease (paused, partitioned) cannot commit over the new holder.
   */
  assertHeld(): Promise<void>;
}

/**
 * A job: a named, idempotent unit of work over a range (DESIGN.md, "Batch layer"). `run` must
 * be safe to run again for the same key after a crash (write its output keyed by the range, or
 * check what is already there); the runner never starts a key that succeeded.
 */
export interface JobDefinition {
  readonly name: string;
  readonly description: string;
  /** Cron expression (5 or 6 fields) for scheduled runs; absent: on demand only. */
  readonly schedule?: string;
  /** The range a scheduled run covers at `now` (default: empty, one key per job). */
  rangeAt?(now: EpochMicros): string;
  /** Does the work; the returned summary is recorded with the run (numbers with units). */
  run(ctx: JobContext): Promise<Record<string, unknown>>;
}

/** One recorded run. */
export interface JobRun {
  id: string;
  job: string;
  key: string;
  range: string;
  attempt: number;
  status: RunStatus;
  /** The fencing token of the lease it ran under. */
  fence: number;
  node: string;
  startedAt: EpochMicros;
  endedAt: EpochMicros | null;
  output: Record<string, unknown> | null;
  error: string | null;
}

/** The full key of a job over a range. */
export function runKey(job: string, range: string): string {
  return range === '' ? job : `${job}:${range}`;
}
