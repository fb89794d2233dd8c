import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Algorithm, Clock, LimiterStore, Policy, StoreMode, StoreResult } from '../types.ts';

/** A settable clock for tests. */
export interface TestClock {
  now: number;
  readonly fn: Clock;
}

/** Start time aligned to a UTC day, so fixed windows of 1 s, 1 min, 1 h and 1 day all start at T0. */
export const T0 = 19_676 * 86_400_000;

function testClock(): TestClock {
  const c = { now: T0, fn: () => c.now };
  return c;
}

const ALL: Algorithm[] = ['fixed-window', 'sliding-window', 'gcra', 'sliding-log'];

/**
 * The limiter store contract. Every backend runs this same suite with an injected clock, so
 * the window math (remaining, resetAt, retryAfterMs) is asserted to the millisecond.
 */
export function describeStoreContract(name: string, makeStore: (clock: Clock) => LimiterStore, skip = false): void {
  describe.skipIf(skip)(`limiter store contract: ${name}`, () => {
    function setup(policies: Policy[]) {
      const clock = testClock();
      const store = makeStore(clock.fn);
      const key = `t-${randomUUID()}`;
      const run = async (mode: StoreMode, cost = 1, at?: number): Promise<StoreResult> => {
        if (at !== undefined) clock.now = at;
        return store.apply({ key, policies, cost, mode });
      };
      const refund = async (cost: number): Promise<StoreResult> => store.refund({ key, policies, cost });
      return { clock, store, key, run, refund };
    }
    const one = (algorithm: Algorithm, limit: number, windowMs: number, burst?: number): Policy[] => [
      burst === undefined ? { name: 'p', algorithm, limit, windowMs } : { name: 'p', algorithm, limit, windowMs, burst },
    ];
    const state = (r: StoreResult, i = 0) => r.states[i];

    for (const algorithm of ALL) {
      it(`${algorithm}: admits exactly the limit at one instant, then denies without consuming`, async () => {
        const { run } = setup(one(algorithm, 5, 60_000));
        for (let i = 0; i < 5; i += 1) {
          const r = await run('consume');
          expect(r.allowed).toBe(true);
          expect(state(r)?.remaining).toBe(4 - i);
        }
        const denied = await run('consume');
        expect(denied).toMatchObject({ allowed: false, consumed: 0 });
        expect(state(denied)).toMatchObject({ allowed: false, remaining: 0, limit: 5 });
        expect(state(denied)?.retryAfterMs).toBeGreaterThan(0);
      });

      it(`${algorithm}: peek decides without consuming; cost 0 always passes`, async () => {
        const { run } = setup(one(algorithm, 2, 60_000));
        for (let i = 0; i < 4; i += 1) expect((await run('peek', 2)).allowed).toBe(true);
        expect(state(await run('peek', 3))).toMatchObject({ allowed: false, remaining: 2, retryAfterMs: null });
        expect((await run('consume', 2)).allowed).toBe(true);
        expect(await run('consume', 0)).toMatchObject({ allowed: true, consumed: 0 });
        expect(state(await run('peek', 1))).toMatchObject({ allowed: false, remaining: 0 });
      });

      it(`${algorithm}: a cost above capacity is denied with retryAfterMs null and consumes nothing`, async () => {
        const { run } = setup(one(algorithm, 3, 1_000));
        const r = await run('consume', 4);
        expect(r).toMatchObject({ allowed: false, consumed: 0 });
        expect(state(r)).toMatchObject({ allowed: false, remaining: 3, retryAfterMs: null });
      });

      it(`${algorithm}: refund gives units back, floored at empty`, async () => {
        const { run, refund } = setup(one(algorithm, 3, 60_000));
        await run('consume', 3);
        expect(state(await refund(1))?.remaining).toBe(1);
        expect((await run('consume')).allowed).toBe(true);
        expect((await run('consume')).allowed).toBe(false);
        expect(state(await refund(10))?.remaining).toBe(3);
        expect(state(await run('consume', 3))).toMatchObject({ allowed: true, remaining: 0 });
      });

      it(`${algorithm}: lease grants min(chunk, remaining)`, async () => {
        const { run } = setup(one(algorithm, 10, 60_000));
        expect(await run('lease', 4)).toMatchObject({ allowed: true, consumed: 4 });
        expect(await run('lease', 4)).toMatchObject({ allowed: true, consumed: 4 });
        expect(await run('lease', 4)).toMatchObject({ allowed: true, consumed: 2 });
        const none = await run('lease', 4);
        expect(none).toMatchObject({ allowed: false, consumed: 0 });
        expect(state(none)).toMatchObject({ allowed: false, remaining: 0 });
        expect(state(none)?.retryAfterMs).toBeGreaterThan(0);
      });

      it(`${algorithm}: is back at full capacity after resetAt`, async () => {
        const { run, clock } = setup(one(algorithm, 4, 1_000));
        const r = await run('consume', 4);
        const resetAt = state(r)?.resetAt as number;
        expect(resetAt).toBeGreaterThan(clock.now);
        expect(state(await run('peek', 4, resetAt - 1))?.allowed).toBe(false);
        expect(state(await run('peek', 4, resetAt))).toMatchObject({ allowed: true, remaining: 4 });
      });

      it(`${algorithm}: keys are independent`, async () => {
        const policies = one(algorithm, 1, 60_000);
        const a = setup(policies);
        const b = setup(policies);
        expect((await a.run('consume')).allowed).toBe(true);
        expect((await a.run('consume')).allowed).toBe(false);
        expect((await b.run('consume')).allowed).toBe(true);
      });
    }

    it('fixed-window: aligned windows, exact retryAfter, and the documented 2× burst at a boundary', async () => {
      const { run } = setup(one('fixed-window', 3, 1_000));
      await run('consume', 3, T0 + 999);
      expect(state(await run('consume', 1, T0 + 999))).toMatchObject({ allowed: false, retryAfterMs: 1, resetAt: T0 + 1_000 });
      expect(state(await run('consume', 3, T0 + 1_000))).toMatchObject({ allowed: true, remaining: 0, resetAt: T0 + 2_000 });
    });

    it('sliding-log: an entry counts in (now − W, now]; retryAfter is when enough entries expire', async () => {
      const { run } = setup(one('sliding-log', 10, 1_000));
      await run('consume', 4, T0);
      await run('consume', 4, T0 + 10);
      const denied = await run('consume', 3, T0 + 20);
      expect(state(denied)).toMatchObject({ allowed: false, remaining: 2, retryAfterMs: 980, resetAt: T0 + 1_010 });
      expect((await run('consume', 3, T0 + 999)).allowed).toBe(false);
      expect(state(await run('consume', 3, T0 + 1_000))).toMatchObject({ allowed: true, remaining: 3, resetAt: T0 + 2_000 });
      expect(state(await run('peek', 4, T0 + 1_009))).toMatchObject({ allowed: false, retryAfterMs: 1 });
      expect(state(await run('peek', 4, T0 + 1_010))).toMatchObject({ allowed: true, remaining: 7 });
    });

    it('sliding-window: previous window weighted by its overlap, exact integer thresholds', async () => {
      const { run } = setup(one('sliding-window', 10, 1_000));
      await run('consume', 10, T0);
      expect(state(await run('peek', 1, T0 + 1_000))).toMatchObject({ allowed: false, remaining: 0 });
      expect(state(await run('peek', 1, T0 + 1_500))).toMatchObject({ allowed: true, remaining: 5 });
      expect((await run('consume', 5, T0 + 1_500)).allowed).toBe(true);
      expect(state(await run('consume', 1, T0 + 1_500))).toMatchObject({ allowed: false, retryAfterMs: 100, resetAt: T0 + 3_000 });
      expect(state(await run('consume', 1, T0 + 1_599))).toMatchObject({ allowed: false, retryAfterMs: 1 });
      expect(state(await run('consume', 1, T0 + 1_600))).toMatchObject({ allowed: true, remaining: 0 });
      // Needs the next window: this window's 6 become the decaying previous count.
      expect(state(await run('peek', 8, T0 + 1_600))).toMatchObject({ allowed: false, retryAfterMs: 400 + 667 });
      expect(state(await run('peek', 8, T0 + 2_667))).toMatchObject({ allowed: true });
      expect(state(await run('peek', 8, T0 + 2_666))).toMatchObject({ allowed: false });
    });

    it('gcra: emission interval W/limit without rounding drift, burst capacity', async () => {
      const { run } = setup(one('gcra', 3, 1_000));
      await run('consume', 3, T0);
      expect(state(await run('consume', 1, T0))).toMatchObject({ allowed: false, retryAfterMs: 334, resetAt: T0 + 1_000 });
      expect((await run('consume', 1, T0 + 333)).allowed).toBe(false);
      expect(state(await run('consume', 1, T0 + 334))).toMatchObject({ allowed: true, remaining: 0 });
      // 3000 steps of 1/3 ms would drift with floats; the integer debt does not.
      const b = setup(one('gcra', 3, 1_000, 1));
      let admitted = 0;
      for (let t = 0; t < 3_000; t += 37) if ((await b.run('consume', 1, T0 + t)).allowed) admitted += 1;
      expect(admitted).toBe(9); // at 0, 370, 703, 1036, 1369, 1702, 2035, 2368, 2701 (every ⌈1000/3⌉-ish step)
    });

    it('gcra: burst smaller than the rate window', async () => {
      const { run } = setup(one('gcra', 10, 1_000, 2));
      expect((await run('consume', 2, T0)).allowed).toBe(true);
      expect(state(await run('consume', 1, T0))).toMatchObject({ allowed: false, limit: 2, retryAfterMs: 100 });
      expect(state(await run('consume', 1, T0 + 100))).toMatchObject({ allowed: true, remaining: 0, resetAt: T0 + 300 });
    });

    it('multi-policy: all or nothing, and the answer names each policy', async () => {
      const policies: Policy[] = [
        { name: 'burst', algorithm: 'gcra', limit: 5, windowMs: 1_000 },
        { name: 'hourly', algorithm: 'fixed-window', limit: 7, windowMs: 3_600_000 },
        { name: 'log', algorithm: 'sliding-log', limit: 100, windowMs: 60_000 },
      ];
      const { run } = setup(policies);
      for (let i = 0; i < 5; i += 1) expect((await run('consume', 1, T0)).allowed).toBe(true);
      const burstDenied = await run('consume', 1, T0);
      expect(burstDenied.allowed).toBe(false);
      expect(burstDenied.states.map((s) => [s.policy, s.allowed, s.remaining])).toEqual([
        ['burst', false, 0],
        ['hourly', true, 2],
        ['log', true, 95],
      ]);
      expect((await run('consume', 2, T0 + 1_000)).allowed).toBe(true);
      const hourlyDenied = await run('consume', 1, T0 + 1_000);
      expect(hourlyDenied.states.map((s) => [s.policy, s.allowed])).toEqual([
        ['burst', true],
        ['hourly', false],
        ['log', true],
      ]);
      expect(hourlyDenied.states[1]?.retryAfterMs).toBe(3_600_000 - 1_000);
      // Nothing was taken from the policies that would have allowed it.
      expect((await run('peek', 3, T0 + 1_000)).states.map((s) => s.remaining)).toEqual([3, 0, 93]);
    });

    it('sliding-log and fixed-window match a brute-force model on random traffic', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<Algorithm>('sliding-log', 'fixed-window'),
          fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), cost: fc.integer({ min: 0, max: 4 }), refund: fc.boolean() }), { maxLength: 40 }),
          async (algorithm, ops) => {
            const { run, refund, clock } = setup(one(algorithm, 6, 1_000));
            const log: { t: number; c: number }[] = [];
            for (const op of ops) {
              clock.now += op.dt;
              const now = clock.now;
              const inWindow = (e: { t: number }) =>
                algorithm === 'sliding-log' ? e.t > now - 1_000 : Math.floor(e.t / 1_000) === Math.floor(now / 1_000);
              const live = log.filter(inWindow);
              const used = live.reduce((a, e) => a + e.c, 0);
              if (op.refund) {
                let left = op.cost;
                for (let i = log.length - 1; i >= 0 && left > 0; i -= 1) {
                  const e = log[i] as { t: number; c: number };
                  if (!inWindow(e)) break;
                  const take = Math.min(e.c, left);
                  e.c -= take;
                  left -= take;
                }
                expect(state(await refund(op.cost))?.remaining).toBe(6 - Math.max(0, used - op.cost));
                continue;
              }
              const r = await run('consume', op.cost);
              expect(r.allowed).toBe(used + op.cost <= 6);
              if (r.allowed && op.cost > 0) log.push({ t: now, c: op.cost });
            }
          },
        ),
        { numRuns: 40, seed: 42 },
      );
    });
  });
}
