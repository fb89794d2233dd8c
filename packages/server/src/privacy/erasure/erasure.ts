import type { EpochMicros } from '../../shared/time.ts';

/** Where an erasure is: waiting for its job, done, or failed (its job can be run again). */
export const ERASURE_STATUSES = ['pending', 'done', 'failed'] as const;
export type ErasureStatus = (typeof ERASURE_STATUSES)[number];

/** Rows changed per place, as the erasure job counted them. */
export interface ErasedRows {
  /** Raw events whose actor was removed (the events and their counts and sums stay). */
  events: number;
  /** Distinct-value facts of UNIQUE_COUNT meters that held the actor (removed). */
  uniqueFacts: number;
  /** Archive rows whose actor was removed, and the partitions rewritten for it. */
  archiveRows: number;
  archivePartitions: number;
}

/**
 * One erasure request. The raw id is never stored; its hashes (one per secret version) are kept
 * only while the erasure is pending, because the job needs them after a crash, and are cleared
 * when it is done.
 */
export interface ErasureRecord {
  id: string;
  /** The key that asked for it. */
  requestedBy: string;
  requestedAt: EpochMicros;
  status: ErasureStatus;
  /** The actor's hashes while pending; empty once done. */
  hashes: string[];
  completedAt: EpochMicros | null;
  rows: ErasedRows | null;
  error: string | null;
}

/** The job that carries erasures out (range: the erasure id). */
export const ERASURE_JOB = 'erasure';

/** The erasure records (DuckDB file or ClickHouse): one repository per profile. */
export interface ErasureRepo {
  insert(r: ErasureRecord): Promise<void>;
  get(id: string): Promise<ErasureRecord | undefined>;
  /** Replaces the record (status, rows, hashes cleared…). */
  update(r: ErasureRecord): Promise<void>;
  /** Ids of erasures not done yet (a start re-runs them). */
  listPending(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The profile's stored data an erasure changes: raw events (the actor removed, the event kept),
 * unique-value facts (removed), and afterwards the engine's leftovers (old versions of rewritten
 * data that a file could still hold) removed.
 */
export interface ErasureTarget {
  /** Removes the hashes from raw events and facts; safe to run again (a second run changes 0 rows). */
  erase(hashes: readonly string[]): Promise<{ events: number; uniqueFacts: number }>;
  /**
   * Makes the engine drop what it keeps of the old values on disk (DuckDB: checkpoint, then
   * overwrite freed blocks; ClickHouse: wait for the mutations, OPTIMIZE FINAL). Returns what it did.
   */
  scrub(): Promise<string>;
  close(): Promise<void>;
}
