import { verifyChain, type AccessEntry, type ChainBreak } from './entry.ts';
import type { AccessLogRepo } from './repo.ts';

/** What verifying the whole log found. */
export interface VerifyReport {
  ok: boolean;
  /** Per chain: entries checked, from which seq (after a retention checkpoint: not 1), to which. */
  chains: { chain: string; entries: number; fromSeq: number; lastSeq: number; lastHash: string }[];
  /** The first break of each broken chain. */
  breaks: ChainBreak[];
}

/** Re-reads every chain in seq order from its retention checkpoint and re-hashes it (pages of 5,000 entries). */
export async function verifyAccessLog(repo: AccessLogRepo): Promise<VerifyReport> {
  const report: VerifyReport = { ok: true, chains: [], breaks: [] };
  for (const chain of await repo.chains()) {
    let count = 0;
    // After retention dropped the chain's head, the chain is checked from its checkpoint on.
    const cp = await repo.checkpoint(chain);
    let last: Pick<AccessEntry, 'seq' | 'hash'> | undefined = cp && { seq: cp.seq, hash: cp.hash };
    let broken: ChainBreak | undefined;
    // Each page is checked against the last entry of the page before.
    for (let page = await repo.page(chain, cp?.seq ?? 0, 5000); page.length > 0 && !broken; page = await repo.page(chain, last!.seq, 5000)) {
      broken = verifyChain(page, last);
      count += page.length;
      last = page.at(-1);
    }
    if (broken) {
      report.ok = false;
      report.breaks.push(broken);
    }
    report.chains.push({ chain, entries: count, fromSeq: (cp?.seq ?? 0) + 1, lastSeq: last?.seq ?? 0, lastHash: last?.hash ?? '' });
  }
  return report;
}
