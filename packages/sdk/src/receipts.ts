import type { Receipt } from './types.ts';

/** Tallies of one answered batch. */
export interface ReceiptTally {
  accepted: number;
  duplicates: number;
  rejected: Receipt[];
  conflicts: Receipt[];
}

/**
 * Counts receipts for a batch of `count` events. Without receipts (an unreadable 2xx) every event
 * counts as accepted; a receipt of unknown status counts as accepted too, since the server took it.
 */
export function applyReceipts(count: number, receipts: readonly Receipt[] | undefined): ReceiptTally {
  const t: ReceiptTally = { accepted: 0, duplicates: 0, rejected: [], conflicts: [] };
  if (!receipts) {
    t.accepted = count;
    return t;
  }
  for (const r of receipts) {
    if (r.status === 'duplicate') {
      t.duplicates++;
      if (r.conflict) t.conflicts.push(r);
    } else if (r.status === 'rejected') {
      t.rejected.push(r);
    } else {
      t.accepted++;
    }
  }
  return t;
}
