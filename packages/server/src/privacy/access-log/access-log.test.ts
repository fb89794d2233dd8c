import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DuckDbAccessLogRepo } from './duckdb-repo.ts';
import { chainRecords, verifyChain } from './entry.ts';
import { runAccessLogRepoContract } from './repo-contract.ts';

runAccessLogRepoContract('DuckDB', async () => DuckDbAccessLogRepo.open(await (await DuckDBInstance.create(':memory:')).connect()));

describe('access log chain verification', () => {
  const entries = chainRecords('c', undefined, Array.from({ length: 5 }, (_, i) => ({ at: i, keyId: 'k', scope: 'read', tenants: [], method: 'GET', endpoint: '/x', params: {}, status: 200, rows: i })));
  it('finds a changed, a removed and a reordered entry at the entry itself', () => {
    expect(verifyChain(entries)).toBeUndefined();
    expect(verifyChain(entries.map((e, i) => (i === 2 ? { ...e, rows: 99 } : e)))).toEqual({ chain: 'c', seq: 3, reason: 'its content was changed after it was written (hash differs)' });
    expect(verifyChain(entries.filter((_, i) => i !== 1))?.seq).toBe(3);
    expect(verifyChain([entries[1]!, entries[0]!, ...entries.slice(2)])?.seq).toBe(2);
    expect(verifyChain(entries.slice(1))).toMatchObject({ seq: 2, reason: expect.stringContaining('missing') });
    // A rewritten entry with a recomputed hash still breaks the link of the next one.
    const forged = chainRecords('c', entries[1], [{ ...entries[2]!, rows: 99 }])[0]!;
    expect(verifyChain([...entries.slice(0, 2), forged, ...entries.slice(3)])).toMatchObject({ seq: 4, reason: expect.stringContaining('does not link') });
  });
});
