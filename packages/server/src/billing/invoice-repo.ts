import type { EpochMicros } from '../shared/time.ts';
import type { CreditApplication, CreditGrant } from './credits.ts';
import type { Invoice, InvoiceStatus } from './invoice.ts';

/** Which invoices to list. */
export interface InvoiceFilter {
  tenant?: string;
  status?: InvoiceStatus;
  /** Periods starting at or after. */
  from?: EpochMicros;
  /** Periods starting before. */
  to?: EpochMicros;
}

/**
 * Stored invoices (billing's own port, not more methods on UsageStore). Drafts may be replaced
 * by a recomputation; finalized invoices never change except to become void. Adapters: DuckDB
 * and ClickHouse, both running `invoice-repo-contract.ts`.
 */
export interface InvoiceRepo {
  /** Stores a draft, replacing the draft of the same tenant and period; refuses to touch a finalized or void one (returns it instead). */
  saveDraft(inv: Invoice): Promise<Invoice>;
  /** {@link saveDraft} for many drafts in one unit of work (the invoice run); results in the same order. */
  saveDrafts(invs: readonly Invoice[]): Promise<Invoice[]>;
  get(id: string): Promise<Invoice | undefined>;
  /** The invoice (any status, not a credit note) of a tenant's period. */
  forPeriod(tenant: string, periodStart: EpochMicros): Promise<Invoice | undefined>;
  list(filter: InvoiceFilter): Promise<Invoice[]>;
  /**
   * Finalizes a draft with the next number of `issuer`'s gapless sequence (the largest number
   * issued so far + 1, assigned under the repo's serialization) and the tenant's usable credit
   * applied (`credits.ts`), in the same unit of work. A finalized invoice is returned as it is.
   */
  finalize(id: string, issuer: string, at: EpochMicros): Promise<Invoice>;
  /**
   * Voids a finalized invoice and stores its credit note (finalized, numbered); with `asCredit`,
   * also a grant of the credit note's amount (the credit is kept for later invoices, not refunded).
   */
  void(id: string, issuer: string, at: EpochMicros, creditNote: Invoice, asCredit?: CreditGrant): Promise<{ invoice: Invoice; creditNote: Invoice }>;
  /** Stores a credit grant (immutable). */
  grantCredit(g: CreditGrant): Promise<void>;
  /** A tenant's grants and every application of them. */
  credits(tenant: string): Promise<{ grants: CreditGrant[]; applications: CreditApplication[] }>;
  close(): Promise<void>;
}
