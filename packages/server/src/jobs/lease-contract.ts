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
      // Margins of a second or more: on a loaded machine a 100 ms sleep can take far longer, so
      // no check below depends on a sleep being short, only on it being long enough.
      const a = await l.acquire('job', 'a', 1_000);
      await sleep(50);
      expect(await l.renew('job', 'a', a!, 5_000)).toBe(true);
      await sleep(1_100); // past the first 1,000 ms: held only thanks to the renewal
      expect(await l.isCurrent('job', a!)).toBe(true);
      const c = await l.acquire('other', 'a', 150);
      await sleep(400);
      expect(await l.isCurrent('other', c!)).toBe(false);
      const b = await l.acquire('other', 'b', 5_000);
      expect(b).toBeGreaterThan(c!);
      expect(await l.renew('other', 'a', c!, 5_000)).toBe(false);
      expect(await l.isCurrent('other', b!)).toBe(true);
    });
  });
}
