import { TallyError } from '../errors/registry.ts';
import type { EpochMicros } from '../shared/time.ts';
import { applyCredits, type CreditApplication, type CreditGrant } from './credits.ts';
import type { Invoice } from './invoice.ts';
import { formatNumber } from './numbering.ts';

/**
 * The finalized form of a draft, the same for every repository: refused while the draft is not
 * reconciled, numbered `n` in `sequence`, the tenant's usable credit applied.
 */
export function finalizedDraft(inv: Invoice, seq: { sequence: string; n: number }, credits: { grants: CreditGrant[]; applications: CreditApplication[] }, at: EpochMicros): Invoice {
  assertReconciled(inv);
  const paid = applyCredits(inv, credits.grants, credits.applications, at);
  return { ...paid.invoice, status: 'finalized', number: formatNumber(seq.sequence, seq.n), finalizedAt: at };
}

/** Finalization is blocked while the usage recomputed from raw events differs from the rollups. */
export function assertReconciled(inv: Invoice): void {
  if (inv.reconciled) return;
  const what = inv.discrepancies.map((d) => `${d.meter}: raw ${d.raw}, rollups ${d.rollups}`).join('; ');
  throw new TallyError('CONFLICT', `invoice ${inv.id} is blocked: its usage recomputed from raw events differs from the rollups (${what}); recompute the draft once the discrepancy is resolved`);
}
