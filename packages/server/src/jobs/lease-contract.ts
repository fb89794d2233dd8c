import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { LeaseStore } from './lease-store.ts';

/** The contract every LeaseStore passes (memory and Redis). `make` gives a fresh namespace. */
export function runLeaseContract(name: string, make: () => Promise<LeaseStore>): void {
  describe(`LeaseStore contract: ${name}`, () => {
    it('grants one holder at a time, with tokens that only grow', async () => {
      const l = await make();
      const a = await l.acquire('job', 'a', 5_000);
      expect(a).toBeGreaterThan(0);
      expect(await l.acquire('job', 'b', 5_000)).toBeNull();
      expect(await l.acquire('other', 'b', 5_000)).not.toBeNull();
      await l.release('job', 'b', a!); // not b's: no effect
      expect(await l.isCurrent('job', a!)).toBe(true);
      await l.release('job', 'a', a!);
      const b = await l.acquire('job', 'b', 5_000);
      expect(b).toBeGreaterThan(a!);
      expect(await l.isCurrent('job', a!)).toBe(false);
      expect(await l.renew('job', 'a', a!, 5_000)).toBe(false);
      expect(await l.renew('job', 'b', b!, 5_000)).toBe(true);
    });

    it('lapses after its time unless renewed; a lapsed holder can neither renew nor pass as current', async () => {
      const l = await make();
      const a = await l.acquire('job', 'a', 150);
      await sleep(80);
      expect(await l.renew('job', 'a', a!, 150)).toBe(true);
      await sleep(100);
      expect(await l.isCurrent('job', a!)).toBe(true);
      await sleep(200);
      expect(await l.isCurrent('job', a!)).toBe(false);
      const b = await l.acquire('job', 'b', 5_000);
      expect(b).toBeGreaterThan(a!);
      expect(await l.renew('job', 'a', a!, 5_000)).toBe(false);
      expect(await l.isCurrent('job', b!)).toBe(true);
    });
  });
}
