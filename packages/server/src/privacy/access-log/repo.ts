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
 * ClickHouse, both running `repo-contract.ts`. Nothing updates or deletes entries; verification
 * reads whole chains back.
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
  close(): Promise<void>;
}
