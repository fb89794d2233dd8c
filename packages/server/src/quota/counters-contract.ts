import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCALE } from '../shared/decimal.ts';
import { MICROS_PER_MS } from '../shared/time.ts';
import type { CounterItem, QuotaCounters } from './counters.ts';

/** A settable test clock in ms (what the counters use to decide period boundaries). */
export interface TestMs {
  now: number;
}

const units = (n: number | bigint) => BigInt(n) * SCALE;
/** Period starts of the suite, 2026-12-01 and 2027-01-01 (µs). */
const DEC = Date.UTC(2026, 11, 1) * MICROS_PER_MS;
const JAN = Date.UTC(2027, 0, 1) * MICROS_PER_MS;

/**
 * The quota counters contract: every {@link QuotaCounters} adapter (memory, Redis) runs this same
 * suite with an injected clock, so the period boundary is asserted at the exact microsecond.
 */
export function describeQuotaCountersContract(name: string, make: (clock: TestMs) => QuotaCounters, skip = false): void {
  describe.skipIf(skip)(`quota counters contract: ${name}`, () => {
    const setup = () => {
      const clock: TestMs = { now: Date.UTC(2026, 11, 15) };
      const tenant = `t-${randomUUID()}`;
      const item = (meter: string, limit: number | bigint, amount: bigint, hard = true): CounterItem => ({ tenant, meter, period: DEC, next: { period: JAN, at: JAN }, limit: units(limit), amount, hard });
      return { clock, tenant, counters: make(clock), item };
    };

    it('grants exactly the limit under concurrent calls; a denial records nothing', async () => {
      const { counters, item, tenant } = setup();
      const answers = await Promise.all(Array.from({ length: 120 }, () => counters.consumeAll([item('calls', 50, SCALE)])));
      expect(answers.filter((a) => a.recorded)).toHaveLength(50);
      expect(answers.every((a) => a.decidedBy.by === 'counters')).toBe(true);
      const denied = answers.find((a) => !a.recorded)!;
      expect(denied.usages).toEqual([units(50)]);
      expect(await counters.usages([{ tenant, meter: 'calls', period: DEC }])).toEqual([units(50)]);
    });

    it('checks every item all or nothing; soft items never block but count only with the rest', async () => {
      const { counters, item, tenant } = setup();
      const first = await counters.consumeAll([item('calls', 2, SCALE), item('tokens', 100, units(60)), item('soft', 1, units(5), false)]);
      expect(first).toMatchObject({ recorded: true, usages: [units(1), units(60), units(5)], periods: [DEC, DEC, DEC] });
      const blocked = await counters.consumeAll([item('calls', 2, SCALE), item('tokens', 100, units(41)), item('soft', 1, units(5), false)]);
      expect(blocked).toMatchObject({ recorded: false, usages: [units(1), units(60), units(5)] });
      const keys = ['calls', 'tokens', 'soft'].map((meter) => ({ tenant, meter, period: DEC }));
      expect(await counters.usages(keys)).toEqual([units(1), units(60), units(5)]);
      const fits = await counters.consumeAll([item('calls', 2, SCALE), item('tokens', 100, units(40)), item('soft', 1, units(5), false)]);
      expect(fits).toMatchObject({ recorded: true, usages: [units(2), units(100), units(10)] });
    });

    it('stays exact past 2^53 scaled units and with 12 fractional digits', async () => {
      const { counters, item, tenant } = setup();
      const big = 123_456_789_012n * SCALE + 999_999_999_999n;
      await counters.set({ tenant, meter: 'tokens', period: DEC }, big);
      const tiny = 1n; // 10^-12
      expect((await counters.consumeAll([item('tokens', 123_456_789_013n, tiny)])).usages).toEqual([big + 1n]);
      expect((await counters.consumeAll([item('tokens', 123_456_789_013n, tiny)])).recorded).toBe(false);
      await counters.add([{ tenant, meter: 'tokens', period: DEC, delta: -(big + 1n) - 7n }]);
      expect(await counters.usages([{ tenant, meter: 'tokens', period: DEC }])).toEqual([-7n]);
    });

    it('adds signed deltas, replaces with set, raises to at least a value, reads missing counters as 0 and forgets', async () => {
      const { counters, tenant } = setup();
      const k = { tenant, meter: 'calls', period: DEC };
      const other = { ...k, period: JAN };
      expect(await counters.usages([k, other])).toEqual([0n, 0n]);
      await counters.add([{ ...k, delta: units(3) }, { ...other, delta: 5n }, { ...k, delta: -SCALE - 1n }]);
      expect(await counters.usages([k, other])).toEqual([units(2) - 1n, 5n]);
      await counters.set(k, units(9));
      expect(await counters.usages([k])).toEqual([units(9)]);
      await counters.raise(k, units(4));
      expect(await counters.usages([k])).toEqual([units(9)]);
      await counters.raise(k, units(11));
      expect(await counters.usages([k])).toEqual([units(11)]);
      await counters.forget(k);
      expect(await counters.usages([k, other])).toEqual([0n, 5n]);
    });

    it("counts in the next period once the counters' clock reaches its start (injected time)", async () => {
      const { counters, item, clock, tenant } = setup();
      clock.now = JAN / MICROS_PER_MS - 1;
      expect(await counters.consumeAll([item('calls', 1, SCALE)])).toMatchObject({ recorded: true, periods: [DEC], usages: [units(1)] });
      expect((await counters.consumeAll([item('calls', 1, SCALE)])).recorded).toBe(false);
      clock.now = JAN / MICROS_PER_MS;
      expect(await counters.consumeAll([item('calls', 1, SCALE)])).toMatchObject({ recorded: true, periods: [JAN], usages: [units(1)] });
      expect(await counters.usages([{ tenant, meter: 'calls', period: DEC }, { tenant, meter: 'calls', period: JAN }])).toEqual([units(1), units(1)]);
    });
  });
}
