import { describe, expect, it } from 'vitest';
import type { GrantRepo, StoredGrant } from './repo.ts';

const grant = (tenant: string, id: string, createdAt: number, extra: Partial<StoredGrant> = {}): StoredGrant => ({
  tenant,
  entitlement: 'calls',
  id,
  amount: '123456789012.000000000001',
  effectiveAt: 1_800_000_000_000_000,
  expiresAt: null,
  priority: 0,
  recurrence: null,
  createdAt,
  createdBy: 'key_1',
  ...extra,
});

/** The contract every grant repository passes (DuckDB and ClickHouse). */
export function runGrantRepoContract(name: string, open: () => Promise<GrantRepo>): void {
  describe(`grant repository contract: ${name}`, () => {
    it('stores grants exactly, lists them oldest first per tenant or all, with the earliest void', async () => {
      const repo = await open();
      try {
        const a = grant('acme', 'g1', 3, { expiresAt: 1_800_000_060_000_000, priority: 7, recurrence: 'month' });
        const b = grant('acme', 'g2', 1, { amount: '0.5', entitlement: "it's \\ \t ünï" });
        const c = grant('globex', 'g1', 2);
        for (const g of [a, b, c]) await repo.add(g);
        expect(await repo.list('nobody')).toEqual([]);
        expect(await repo.list('acme')).toEqual([
          { ...b, voided: null },
          { ...a, voided: null },
        ]);
        await repo.void({ tenant: 'acme', id: 'g1', at: 50, by: 'key_2', reason: 'mistake' });
        await repo.void({ tenant: 'acme', id: 'g1', at: 60, by: 'key_3', reason: null });
        const all = await repo.list();
        expect(all.map((g) => [g.tenant, g.id, g.voided])).toEqual([
          ['acme', 'g2', null],
          ['globex', 'g1', null],
          ['acme', 'g1', { at: 50, by: 'key_2', reason: 'mistake' }],
        ]);
      } finally {
        await repo.close();
      }
    });
  });
}
