import { DateTime } from 'luxon';
import { MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';

/** The issuer of invoices and of credit notes (each has its own gapless sequence per year). */
export const INVOICE_ISSUER = 'INV';
export const CREDIT_NOTE_ISSUER = 'CN';

/** The sequence a number is drawn from: issuer and UTC year of finalization. */
export function sequenceOf(issuer: string, at: EpochMicros): string {
  return `${issuer}-${DateTime.fromMillis(Math.floor(at / MICROS_PER_MS), { zone: 'utc' }).year}`;
}

/** `INV-2026-000123`: the sequence and the number in it. */
export function formatNumber(sequence: string, n: number): string {
  return `${sequence}-${String(n).padStart(6, '0')}`;
}
