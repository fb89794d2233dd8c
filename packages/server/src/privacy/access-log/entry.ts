import { createHash } from 'node:crypto';

/**
 * One access to usage data or one admin action, as the access log keeps it. Entries form a hash
 * chain per writer (`chain`: the embedded server, or one distributed API node): each carries the
 * hash of the one before, so changing, removing or reordering a stored entry breaks the chain
 * at that entry (`verifyChain`).
 */
export interface AccessEntry {
  chain: string;
  /** 1, 2, 3… within the chain, without gaps. */
  seq: number;
  /** Epoch microseconds. */
  at: number;
  /** The API key that made the call (null: no key, e.g. a refused call without one). */
  keyId: string | null;
  /** The scope the route requires (read or admin). */
  scope: string;
  /** Tenants whose data the call concerned: asked for, or the key's own; empty = all tenants. */
  tenants: string[];
  method: string;
  /** The route template, e.g. /v1/meters/:slug/query. */
  endpoint: string;
  /** Path parameters and query string (the body of POST queries too), as sent. */
  params: Record<string, unknown>;
  status: number;
  /** Rows the answer held (`data` items), or null when not countable (streams, files). */
  rows: number | null;
  /** Hash of the previous entry of the chain ("" for the first). */
  prevHash: string;
  /** SHA-256 over this entry's fields and prevHash. */
  hash: string;
}

/** An entry before it is placed in its chain. */
export type AccessRecord = Omit<AccessEntry, 'chain' | 'seq' | 'prevHash' | 'hash'>;

/** The hash of an entry: SHA-256 of its fields (fixed order, JSON) and the previous hash. */
export function entryHash(e: Omit<AccessEntry, 'hash'>): string {
  const fields = [e.chain, e.seq, e.at, e.keyId, e.scope, e.tenants, e.method, e.endpoint, e.params, e.status, e.rows, e.prevHash];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

/** Where a chain stops being trustworthy. */
export interface ChainBreak {
  chain: string;
  seq: number;
  reason: string;
}

/**
 * Checks one chain's entries (ordered by seq): continuity, links and hashes. `after` is the
 * verified entry before them (undefined: they start the chain at 1). Returns the first break.
 */
export function verifyChain(entries: Iterable<AccessEntry>, after?: Pick<AccessEntry, 'seq' | 'hash'>): ChainBreak | undefined {
  let prev = after;
  for (const e of entries) {
    const expectedSeq = prev ? prev.seq + 1 : 1;
    if (e.seq !== expectedSeq) return { chain: e.chain, seq: e.seq, reason: `expected entry ${expectedSeq} here: entries ${expectedSeq}…${e.seq - 1} are missing` };
    if (e.prevHash !== (prev?.hash ?? '')) return { chain: e.chain, seq: e.seq, reason: 'does not link to the entry before it (prevHash differs)' };
    const { hash, ...rest } = e;
    if (entryHash(rest) !== hash) return { chain: e.chain, seq: e.seq, reason: 'its content was changed after it was written (hash differs)' };
    prev = e;
  }
  return undefined;
}

/** Places records in a chain after `last`: seq, prevHash and hash. */
export function chainRecords(chain: string, last: Pick<AccessEntry, 'seq' | 'hash'> | undefined, records: readonly AccessRecord[]): AccessEntry[] {
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? '';
  return records.map((r) => {
    const base = { ...r, chain, seq: ++seq, prevHash };
    const e = { ...base, hash: entryHash(base) };
    prevHash = e.hash;
    return e;
  });
}
