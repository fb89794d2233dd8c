import { describe, expect, it } from 'vitest';
import { chainRecords, type AccessRecord } from './entry.ts';
import { AccessRecorder } from './recorder.ts';
import type { AccessLogRepo } from './repo.ts';
import { verifyAccessLog } from './verify.ts';

const rec = (i: number, tenants: string[], keyId: string | null = 'k1'): AccessRecord => ({
  at: 1_000_000 + i,
  keyId,
  scope: 'read',
  tenants,
  method: 'GET',
  endpoint: '/v1/meters/:slug/query',
  params: { query: { tenant: tenants[0] ?? null, note: "quote ' backslash \\ tab \t and ünïcode" } },
  status: 200,
  rows: i,
});

/** The contract every access log repository passes (DuckDB and ClickHouse). */
export function runAccessLogRepoContract(name: string, open: () => Promise<AccessLogRepo>): void {
  describe(`access log repository contract: ${name}`, () => {
    it('appends chained entries and reads them back exactly: last, pages, chains, filters newest first', async () => {
      const repo = await open();
      try {
        const a = chainRecords('node-a', undefined, [rec(1, ['acme']), rec(2, ['globex']), rec(3, []), rec(4, ['acme', 'globex'], null)]);
        await repo.append(a.slice(0, 2));
        await repo.append(a.slice(2));
        await repo.append(chainRecords('node-b', undefined, [rec(5, ['acme'], 'k2')]));
        expect(await repo.last('node-a')).toEqual(a[3]);
        expect(await repo.last('nobody')).toBeUndefined();
        expect(await repo.chains()).toEqual(['node-a', 'node-b']);
        expect(await repo.page('node-a', 0, 2)).toEqual(a.slice(0, 2));
        expect(await repo.page('node-a', 2, 10)).toEqual(a.slice(2));
        // A tenant sees entries about it and those about every tenant; newest first.
        expect((await repo.list({ tenant: 'acme', limit: 10 })).map((e) => e.rows)).toEqual([5, 4, 3, 1]);
        expect((await repo.list({ keyId: 'k2', limit: 10 })).map((e) => e.chain)).toEqual(['node-b']);
        expect((await repo.list({ from: 1_000_002, to: 1_000_004, limit: 10 })).map((e) => e.rows)).toEqual([3, 2]);
        expect((await repo.list({ limit: 2 })).length).toBe(2);
        expect((await verifyAccessLog(repo)).ok).toBe(true);
      } finally {
        await repo.close();
      }
    });

    it('a recorder continues its chain after a restart; concurrent records get one gapless chain', async () => {
      const repo = await open();
      try {
        const first = await AccessRecorder.open(repo, 'node-c');
        await Promise.all(Array.from({ length: 50 }, (_, i) => first.record(rec(i, ['t']))));
        const again = await AccessRecorder.open(repo, 'node-c');
        await Promise.all(Array.from({ length: 30 }, (_, i) => again.record(rec(100 + i, ['t']))));
        const all = await repo.page('node-c', 0, 1000);
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
        const report = await verifyAccessLog(repo);
        expect(report.ok).toBe(true);
        expect(report.chains.find((c) => c.chain === 'node-c')).toMatchObject({ entries: 80, lastSeq: 80 });
      } finally {
        await repo.close();
      }
    });

    it('retention drops a chain head behind a checkpoint: verify starts there, the newest entry is kept, a re-run drops nothing twice', async () => {
      const repo = await open();
      try {
        const a = chainRecords('ret', undefined, Array.from({ length: 10 }, (_, i) => rec(i + 1, ['acme'])));
        await repo.append(a);
        expect(await repo.dropBefore(1_000_006, true)).toEqual({ entries: 5, chains: 1 });
        expect(await repo.checkpoint('ret')).toBeUndefined();
        expect(await repo.dropBefore(1_000_006, false)).toEqual({ entries: 5, chains: 1 });
        expect(await repo.checkpoint('ret')).toEqual({ chain: 'ret', seq: 5, hash: a[4]!.hash, at: a[4]!.at });
        let report = await verifyAccessLog(repo);
        expect(report).toMatchObject({ ok: true, chains: [{ chain: 'ret', entries: 5, fromSeq: 6, lastSeq: 10 }] });
        // Everything is old now, yet the newest entry stays: the chain's writer continues from it.
        expect((await repo.dropBefore(2_000_000, false)).entries).toBe(4);
        expect(await repo.checkpoint('ret')).toMatchObject({ seq: 9 });
        expect(await repo.last('ret')).toEqual(a[9]);
        expect(await repo.dropBefore(2_000_000, false)).toEqual({ entries: 0, chains: 0 });
        report = await verifyAccessLog(repo);
        expect(report).toMatchObject({ ok: true, chains: [{ chain: 'ret', entries: 1, fromSeq: 10, lastSeq: 10 }] });
        // An entry appended after the checkpoint that does not link to the kept chain is caught.
        const forged = chainRecords('ret', { seq: 10, hash: 'f'.repeat(64) }, [rec(11, ['acme'])]);
        await repo.append(forged);
        expect((await verifyAccessLog(repo)).breaks).toEqual([{ chain: 'ret', seq: 11, reason: expect.stringContaining('does not link') }]);
      } finally {
        await repo.close();
      }
    });
  });
}
