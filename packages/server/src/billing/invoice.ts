import type { PriceConfig } from './pricing/price-schema.ts';
import type { EpochMicros } from '../shared/time.ts';

/** Where an invoice is: a draft (recomputable), finalized (immutable, numbered), void (credited). */
export const INVOICE_STATUSES = ['draft', 'finalized', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/** One stored invoice line: amounts as exact decimal strings (the API's view). */
export interface InvoiceLine {
  /** Stable within the invoice (`line_1`…), used by `/lines/{lineId}/events`. */
  id: string;
  kind: 'flat' | 'usage' | 'minimum' | 'adjustment';
  name: string;
  meter: string | null;
  /** The price's dimension filter, so the raw events behind the line can be listed. */
  filter: Record<string, string[]> | null;
  quantity: string;
  amount: string;
  amountExact: string;
  tiers: Record<string, unknown>[];
  /** The price as billed (usage lines): a late event re-prices the period with it. */
  price?: PriceConfig;
  /** The period the line bills: the invoice's own, or for an adjustment the period it corrects. */
  periodStart: string;
  periodEnd: string;
}

/** An invoice (or a credit note: `creditNoteFor` set, amounts negated). */
export interface Invoice {
  id: string;
  /** Gapless per issuer once finalized (`INV-2026-000123`); null for a draft. */
  number: string | null;
  tenant: string;
  plan: string;
  currency: string;
  periodStart: EpochMicros;
  periodEnd: EpochMicros;
  status: InvoiceStatus;
  lines: InvoiceLine[];
  subtotal: string;
  /** Prepaid credit applied at finalization ("0.00" on drafts). */
  credits?: string;
  /** Which grants paid how much (finalized invoices). */
  creditsApplied?: { grant: string; amount: string }[];
  /** subtotal − credits. */
  total: string;
  /** Usage recomputed from raw events equalled the rollups' answer (else finalization is blocked). */
  reconciled: boolean;
  /** What disagreed, when not reconciled. */
  discrepancies: { meter: string; raw: string; rollups: string }[];
  createdAt: EpochMicros;
  finalizedAt: EpochMicros | null;
  voidedAt: EpochMicros | null;
  /** For a credit note: the id of the invoice it voids. */
  creditNoteFor: string | null;
  /** For a credit note: why the invoice was voided. */
  reason?: string;
}
