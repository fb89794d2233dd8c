import type { EpochMicros } from '../shared/time.ts';
import { formatScaled, parseQuantity } from '../shared/decimal.ts';
import type { Invoice } from './invoice.ts';
import { minorDigits } from './money.ts';

/** Prepaid credit (or a credit note turned into credit) a tenant can spend on invoices. Immutable. */
export interface CreditGrant {
  id: string;
  tenant: string;
  currency: string;
  /** Positive, in the currency's minor unit at most ("100.00"). */
  amount: string;
  effectiveAt: EpochMicros;
  expiresAt: EpochMicros | null;
  /** Among grants expiring together, lower priority numbers are spent first. */
  priority: number;
  reason: string;
  /** A credit note's number when the grant came from a void. */
  source: string | null;
  createdAt: EpochMicros;
}

/**
 * One use of a grant on a finalized invoice. Kept on the invoice itself (`creditsApplied`),
 * written in the same row as its finalization: no crash can record one without the other. A
 * voided invoice gives its credit back (its applications no longer count).
 */
export interface CreditApplication {
  grantId: string;
  invoiceId: string;
  amount: string;
  at: EpochMicros;
}

const q = (s: string) => parseQuantity(s) as bigint;

/** What is left of each grant after its applications (×10^12). */
export function remaining(grants: readonly CreditGrant[], applications: readonly CreditApplication[]): Map<string, bigint> {
  const left = new Map(grants.map((g) => [g.id, q(g.amount)]));
  for (const a of applications) left.set(a.grantId, (left.get(a.grantId) ?? 0n) - q(a.amount));
  return left;
}

/** An amount with the currency's digits ("12.5" → "12.50"). */
export function inCurrency(v: bigint, currency: string): string {
  const digits = minorDigits(currency);
  const [int = '0', frac = ''] = formatScaled(v).split('.');
  return digits === 0 ? int : `${int}.${frac.padEnd(digits, '0')}`;
}

/**
 * Applies a tenant's usable credit to an invoice being finalized: grants in its currency that
 * are in effect at `at` and not expired, soonest-expiring first (never-expiring last), then by
 * priority, then oldest; each spends what is left of it until the total is covered. Returns the
 * invoice with `credits` and `total` set, and the ledger rows to store with it.
 */
export function applyCredits(inv: Invoice, grants: readonly CreditGrant[], applications: readonly CreditApplication[], at: EpochMicros): { invoice: Invoice; applications: CreditApplication[] } {
  const left = remaining(grants, applications);
  const usable = grants
    .filter((g) => g.currency === inv.currency && g.effectiveAt <= at && (g.expiresAt === null || g.expiresAt > at) && (left.get(g.id) ?? 0n) > 0n)
    .sort((a, b) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.priority - b.priority || a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  let due = q(inv.subtotal);
  const used: CreditApplication[] = [];
  for (const g of usable) {
    if (due <= 0n) break;
    const take = (left.get(g.id) ?? 0n) < due ? left.get(g.id)! : due;
    used.push({ grantId: g.id, invoiceId: inv.id, amount: formatScaled(take), at });
    due -= take;
  }
  const credits = q(inv.subtotal) - (due > 0n ? due : 0n);
  return { invoice: { ...inv, credits: inCurrency(credits, inv.currency), creditsApplied: used.map((u) => ({ grant: u.grantId, amount: inCurrency(q(u.amount), inv.currency) })), total: inCurrency(due > 0n ? due : 0n, inv.currency) }, applications: used };
}

/** The applications recorded on a tenant's finalized invoices (void ones gave theirs back). */
export function applicationsOf(invoices: readonly Invoice[]): CreditApplication[] {
  return invoices
    .filter((i) => i.status === 'finalized' && i.creditNoteFor === null)
    .flatMap((i) => (i.creditsApplied ?? []).map((a) => ({ grantId: a.grant, invoiceId: i.id, amount: a.amount, at: i.finalizedAt ?? i.createdAt })));
}
