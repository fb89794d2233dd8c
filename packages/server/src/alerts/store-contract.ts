import { describe, expect, it } from 'vitest';
import type { AlertRecord, AlertStore, RecordKind } from './store.ts';

const rec = (id: string, over: Partial<AlertRecord> = {}): AlertRecord => ({ kind: 'message', id, tenant: 'acme', status: 'pending', at: 1_000, ref: 'ep_1', body: JSON.stringify({ id }), ...over });

/** The contract every AlertStore passes (DuckDB and ClickHouse). `make` gives an empty store. */
export function runAlertStoreContract(name: string, make: () => Promise<AlertStore>): void {
  describe(`AlertStore contract: ${name}`, () => {
    it('puts, replaces, gets and lists with filters in both orders', async () => {
      const s = await make();
      try {
        const a = rec('msg_a', { at: 3_000 });
        const b = rec('msg_b', { at: 1_000, tenant: "it's \\ 🚀", body: '{"text":"quote \' and \\n newline\\ttab"}' });
        const c = rec('msg_c', { at: 2_000, ref: 'ep_2' });
        for (const r of [a, b, c]) await s.put(r);
        await s.put({ kind: 'alert', id: 'msg_a', tenant: '', status: 'firing', at: 5, ref: '', body: '{}' });
        expect(await s.get('message', 'msg_b')).toEqual(b);
        expect((await s.list('message')).map((r) => r.id)).toEqual(['msg_a', 'msg_c', 'msg_b']);
        expect((await s.list('message', { order: 'asc', limit: 2 })).map((r) => r.id)).toEqual(['msg_b', 'msg_c']);
        expect((await s.list('message', { to: 2_000, order: 'asc' })).map((r) => r.id)).toEqual(['msg_b', 'msg_c']);
        expect((await s.list('message', { from: 2_000 })).map((r) => r.id)).toEqual(['msg_a', 'msg_c']);
        expect((await s.list('message', { ref: 'ep_2' })).map((r) => r.id)).toEqual(['msg_c']);
        expect((await s.list('message', { tenant: "it's \\ 🚀" })).map((r) => r.id)).toEqual(['msg_b']);
        expect(await s.list('message', { tenant: "x' OR '1'='1" })).toEqual([]);
        // A replaced record is found by its new columns only.
        await s.put({ ...a, status: 'delivered', at: 500 });
        expect((await s.list('message', { status: 'pending' })).map((r) => r.id)).toEqual(['msg_c', 'msg_b']);
        expect((await s.list('message', { status: 'delivered' })).map((r) => [r.id, r.at])).toEqual([['msg_a', 500]]);
        expect((await s.list('alert')).map((r) => r.id)).toEqual(['msg_a']);
      } finally {
        await s.close();
      }
    });

    it('putNew writes once: a second enqueue of the same id keeps the first record', async () => {
      const s = await make();
      try {
        expect(await s.putNew(rec('msg_x'))).toBe(true);
        await s.put(rec('msg_x', { status: 'delivered' }));
        expect(await s.putNew(rec('msg_x'))).toBe(false);
        expect((await s.get('message', 'msg_x'))?.status).toBe('delivered');
      } finally {
        await s.close();
      }
    });

    it('a deleted record (tombstone) is neither got nor listed', async () => {
      const s = await make();
      try {
        await s.put(rec('rul_1', { kind: 'rule', status: 'active' }));
        await s.put(rec('rul_1', { kind: 'rule', status: 'deleted' }));
        expect(await s.get('rule', 'rul_1')).toBeUndefined();
        expect(await s.list('rule')).toEqual([]);
      } finally {
        await s.close();
      }
    });

    it('retention drops old history (resolved alerts, delivered and dead messages, attempts, tombstones) and keeps rules, endpoints, firing alerts, pending messages', async () => {
      const store = await make();
      try {
        const h = (kind: RecordKind, id: string, status: string, at: number): AlertRecord => ({ kind, id, tenant: 't', status, at, ref: '', body: '{}' });
        const old = [h('alert', 'a1', 'resolved', 10), h('alert', 'a2', 'event', 10), h('message', 'm1', 'delivered', 10), h('message', 'm2', 'dead', 10), h('attempt', 'x1', 'failed', 10), h('rule', 'r0', 'deleted', 10)];
        const kept = [h('rule', 'r1', 'active', 10), h('endpoint', 'e1', 'active', 10), h('alert', 'a3', 'firing', 10), h('message', 'm3', 'pending', 10), h('alert', 'a4', 'resolved', 500)];
        for (const r of [...old, ...kept]) await store.put(r);
        expect(await store.dropHistory(100, true)).toBe(old.length);
        expect(await store.get('alert', 'a1')).toBeDefined();
        expect(await store.dropHistory(100, false)).toBe(old.length);
        for (const r of old) expect(await store.get(r.kind, r.id)).toBeUndefined();
        for (const r of kept) expect(await store.get(r.kind, r.id)).toMatchObject({ id: r.id, status: r.status });
      } finally {
        await store.close();
      }
    });
  });
}
