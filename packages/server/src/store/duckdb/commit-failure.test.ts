import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../events/event.ts';
import { MeterRegistry } from '../../meters/registry.ts';
import { deriveRollups } from '../../usage/derive-rollups.ts';
import { DuckDbStore } from './duckdb-store.ts';

const T0 = Date.UTC(2026, 0, 5) * 1000;
const registry = new MeterRegistry([{ slug: 'calls', eventType: 'call', aggregation: 'COUNT', groupBy: {} }]);

function ev(id: string, i = 0): EventRecord {
  const data = { n: i };
  return { tenant: 'cf', id, type: 'call', source: 's', time: T0 + i * 1_000_000, actor: null, data, dataJson: JSON.stringify(data), contentHash: `h${id}` };
}

const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ev(`${prefix}${i}`, i));

async function count(store: DuckDbStore): Promise<bigint> {
  const rows = await store.aggregate({ meter: registry.get('calls')!.series, from: T0 - 60_000_000, to: T0 + 86_400_000_000, windows: { kind: 'explicit', boundaries: [T0 - 60_000_000, T0 + 86_400_000_000] }, groupByTenant: false, groupDims: [], filters: [], aggregation: 'COUNT' }, 'minute');
  return rows.reduce((s, r) => s + r.components.count, 0n);
}

describe('DuckDB: a failed commit fails only its own batch', () => {
  // Ids that differ as JavaScript strings but not as the UTF-8 the store keeps: the primary
  // key refuses the second one, a real engine failure in the middle of the commit pipeline.
  // (Ingest refuses such ids before they reach a store; this drives the store directly.)
  const poisoned = [ev('\ud800'), ev('\udfff'), ev('p-ok')];

  it('commits the batches before and after a poisoned one, and every batch later', async () => {
    const store = await DuckDbStore.open({ path: join(mkdtempSync(join(tmpdir(), 'tally-cf-')), 'cf.duckdb'), derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into) });
    try {
      const [a, bad, b] = await Promise.allSettled([store.append(batch('a', 50)), store.append(poisoned), store.append(batch('b', 50))]);
      expect(a.status).toBe('fulfilled');
      expect(bad.status).toBe('rejected');
      expect(String((bad as PromiseRejectedResult).reason)).toMatch(/duplicate key|constraint/i);
      expect(b.status).toBe('fulfilled');
      // Sequentially too, and grouped with good batches (the group is retried request by request).
      expect(await store.append(batch('c', 10))).toEqual(Array(10).fill({ status: 'accepted' }));
      await expect(store.append(poisoned)).rejects.toThrow();
      const grouped = await Promise.allSettled([store.append(batch('d', 5)), store.append(batch('e', 5)), store.append(poisoned), store.append(batch('f', 5))]);
      expect(grouped.map((g) => g.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      // Nothing of the poisoned batch was kept: its good event is new when sent alone.
      expect(await store.append([ev('p-ok')])).toEqual([{ status: 'accepted' }]);
      expect(await store.countEvents()).toBe(50n + 50n + 10n + 15n + 1n);
      expect(await count(store)).toBe(126n);
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('a duplicate decision that leaned on a failed batch fails with it, and is retried right', async () => {
    const store = await DuckDbStore.open({ path: ':memory:', derive: (e, into) => deriveRollups(e, (t) => registry.forType(t), ['minute'], into) });
    try {
      // The second request sends p-ok again while the poisoned batch (holding p-ok) is in flight.
      const [bad, dup] = await Promise.allSettled([store.append(poisoned), store.append([ev('p-ok'), ev('x1')])]);
      expect(bad.status).toBe('rejected');
      // Either it was decided after the failure (accepted) or it leaned on it and failed (503):
      // never a "duplicate" receipt for an event that is not stored.
      if (dup.status === 'fulfilled') expect(dup.value).toEqual([{ status: 'accepted' }, { status: 'accepted' }]);
      const again = await store.append([ev('p-ok'), ev('x1')]);
      expect(again.every((o) => o.status === 'accepted' || o.status === 'duplicate')).toBe(true);
      expect(await store.countEvents()).toBe(2n);
    } finally {
      await store.close();
    }
  });
});
