import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.ts';
import type { EventRecord } from '../events/event.ts';
import { OVERRIDE_EVENT_TYPE, OVERRIDES_META } from '../quota/overrides/overrides.ts';
import type { UsageStore } from '../store/port.ts';
import { PlanTimeline } from './plan-timeline.ts';
import { RuntimePlanChanges } from './runtime-plans.ts';

const at = (iso: string) => Date.parse(iso) * 1000;
const config = configSchema.parse({
  plans: [
    { id: 'basic', currency: 'USD', prices: [{ name: 'Basic', model: 'flat', amount: '49' }] },
    { id: 'pro', currency: 'USD', prices: [{ name: 'Pro', model: 'flat', amount: '99' }] },
  ],
  tenants: [{ id: 'm', plan: 'basic' }],
});

/** What the quota domain records for a change: the versioned document, then the audit event. */
function override(tenant: string, version: number, iso: string, plan: string | null): EventRecord {
  const data = { by: 'key_test', version, before: null, after: plan === null ? null : { plan, entitlements: {} } };
  return { tenant, id: `qo_${version}`, type: OVERRIDE_EVENT_TYPE, source: 'tally/quota', time: at(iso), actor: null, data, dataJson: JSON.stringify(data), contentHash: `h${version}` };
}

/**
 * Billing reads the plan changes made through the API from the store (the quota domain's
 * versioned overrides document and its `tally.quota.override` events), the same on every store.
 */
export function runRuntimePlansContract(name: string, open: () => Promise<UsageStore>): void {
  describe(`billing: plan changes made through the API, read from ${name}`, () => {
    it('splits the period at each change, returns to the config on null, and waits for the event of a new version', async () => {
      const store = await open();
      try {
        const timeline = new PlanTimeline(config);
        const runtime = new RuntimePlanChanges(store, timeline);
        const april = { start: at('2026-04-01T00:00:00Z'), end: at('2026-05-01T00:00:00Z') };
        const plans = () => timeline.parts('m', april).map((p) => [new Date(p.start / 1000).toISOString().slice(0, 10), p.plan.id]);
        await runtime.refresh();
        expect(plans()).toEqual([['2026-04-01', 'basic']]);
        // The version is written before its event: until the event is readable, nothing changes, and the next refresh looks again.
        await store.setMeta(OVERRIDES_META, JSON.stringify({ version: 1, tenants: { m: { plan: 'pro' } } }));
        await runtime.refresh();
        expect(plans()).toEqual([['2026-04-01', 'basic']]);
        await store.append([override('m', 1, '2026-04-11T00:00:00Z', 'pro')]);
        await runtime.refresh();
        expect(plans()).toEqual([['2026-04-01', 'basic'], ['2026-04-11', 'pro']]);
        expect(timeline.periodAt('m', at('2026-04-20T00:00:00Z'))).toEqual(april);
        // Back to the config's plan; an unknown tenant gets a plan of its own from the API.
        await store.append([override('m', 2, '2026-04-21T00:00:00Z', null), override('newco', 3, '2026-04-25T00:00:00Z', 'pro')]);
        await store.setMeta(OVERRIDES_META, JSON.stringify({ version: 3, tenants: { newco: { plan: 'pro' } } }));
        await runtime.refresh();
        expect(plans()).toEqual([['2026-04-01', 'basic'], ['2026-04-11', 'pro'], ['2026-04-21', 'basic']]);
        expect(timeline.tenants().sort()).toEqual(['m', 'newco']);
        expect(timeline.parts('newco', april).map((p) => [p.start, p.plan.id])).toEqual([[at('2026-04-25T00:00:00Z'), 'pro']]);
      } finally {
        await store.close();
      }
    }, 120_000);
  });
}
