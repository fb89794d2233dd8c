import type { AccessEntry } from './entry.ts';

/** Which entries to list, newest first. */
export interface AccessFilter {
  /** Only entries concerning this tenant (entries about all tenants included). */
  tenant?: string;
  keyId?: string;
  /** Epoch microseconds, [from, to). */
  from?: number;
  to?: number;
  limit: number;
}

/**
 * The append-only store of the access log (privacy's own port). Adapters: DuckDB and
 * ClickHouse, both running `repo-contract.ts`. Nothing updates entries; only retention deletes
 * a chain's oldest entries, behind a checkpoint verification starts from.
 */
export interface AccessLogRepo {
  append(entries: readonly AccessEntry[]): Promise<void>;
  /** The last entry of a chain (to continue it after a restart). */
  last(chain: string): Promise<AccessEntry | undefined>;
  list(filter: AccessFilter): Promise<AccessEntry[]>;
  /** Every chain's name. */
  chains(): Promise<string[]>;
  /** A chain's entries in seq order, a page at a time. */
  page(chain: string, afterSeq: number, limit: number): Promise<AccessEntry[]>;
  /**
   * Where verification of a chain starts after retention dropped its head: the last dropped
   * entry's seq and hash (undefined: nothing dropped).
   */
  checkpoint(chain: string): Promise<Checkpoint | undefined>;
  /**
   * Retention: per chain, records a checkpoint of the last entry older than `before` and then
   * deletes the entries up to it, always keeping a chain's newest entry (its writer continues
   * from it). `dryRun` only counts. Returns entries deleted (or that would be).
   */
  dropBefore(before: number, dryRun: boolean): Promise<{ entries: number; chains: number }>;
  close(): Promise<void>;
}

/** The last entry retention dropped from a chain. */
export interface Checkpoint {
  chain: string;
  seq: number;
  hash: string;
  at: number;
}
