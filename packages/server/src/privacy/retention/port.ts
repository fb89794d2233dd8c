import type { EpochMicros } from '../../shared/time.ts';
import type { StoreTier } from './policy.ts';

/** What dropping (or previewing the drop of) one tier did. */
export interface TierDrop {
  tier: StoreTier;
  /** The tier holds nothing before this time any more (the cutoff rounded down to what the store deletes whole). */
  horizon: EpochMicros;
  /** Rows deleted (or that would be, in a preview). */
  rows: number;
  /** Whole partitions dropped (ClickHouse); 0 where rows are deleted by range (DuckDB). */
  partitions: number;
  /** Raw tier: ids moved into the dedupe ledger. */
  ledgered?: number;
  /** Raw tier: the latest ingest time among the deleted (or to-be-deleted) rows: archive days from it on may be incomplete. */
  maxIngested?: EpochMicros;
}

/**
 * The usage store's side of retention (privacy's own port): deletes whole time ranges of one
 * tier. Adapters: DuckDB and ClickHouse, both running `contract.ts`. Every method is
 * idempotent (a re-run after a crash deletes what is left and ledgers nothing twice).
 */
export interface RetentionStore {
  /**
   * Deletes the tier's data before `cutoff`, rounded down to the store's unit of deletion.
   * `raw` first copies the ids of events with time ≥ `ledgerFrom` into the dedupe ledger (same
   * transaction, or before the partition goes), so a re-send is still a duplicate. Correction
   * events are never deleted (they are the audit record of what changed). `dryRun` only counts.
   */
  drop(tier: StoreTier, cutoff: EpochMicros, opts: { dryRun: boolean; ledgerFrom?: EpochMicros }): Promise<TierDrop>;
  /** Bytes the store's data takes on disk now (for the job's summary). */
  diskBytes(): Promise<number>;
}
