import type { MeterDefinition } from '../src/meters/meter.ts';

/** Meters for the quota tests: a COUNT and, on one event type, a COUNT and a SUM. */
export const QUOTA_METERS: MeterDefinition[] = [
  { slug: 'calls', eventType: 'api.call', aggregation: 'COUNT', groupBy: {} },
  { slug: 'completions', eventType: 'llm.completion', aggregation: 'COUNT', groupBy: {} },
  { slug: 'tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.usage.tokens', groupBy: { model: '$.model' } },
  { slug: 'latency', eventType: 'api.call', aggregation: 'MAX', valueProperty: '$.ms', groupBy: {} },
];

/** Plans: hard monthly calls (free), New York months (ny), soft daily tokens (soft), a rate limit (burst). */
export const QUOTA_CONFIG = {
  plans: [
    {
      id: 'free',
      entitlements: [
        { meter: 'calls', period: 'month', limit: 10 },
        { meter: 'completions', period: 'month', limit: 100 },
        { meter: 'tokens', period: 'day', limit: '1000', enforcement: 'hard' },
      ],
    },
    { id: 'ny', entitlements: [{ meter: 'calls', period: 'month', timeZone: 'America/New_York', limit: 1000, enforcement: 'soft' }] },
    { id: 'soft', entitlements: [{ meter: 'tokens', period: 'day', limit: '10', enforcement: 'soft' }] },
    { id: 'burst', entitlements: [{ meter: 'calls', period: 'hour', limit: 100 }], rateLimits: [{ name: 'burst', limit: 2, windowSeconds: 10 }] },
  ],
  tenants: [
    { id: 'globex', plan: 'free' },
    { id: 'storm', plan: 'free' },
    { id: 'multi', plan: 'free' },
    { id: 'idem', plan: 'free' },
    { id: 'nyco', plan: 'ny' },
    { id: 'warned', plan: 'soft' },
    { id: 'busy', plan: 'burst' },
  ],
};

/** An `api.call` CloudEvent. */
export function call(id: string, tenant: string, time: string): Record<string, unknown> {
  return { specversion: '1.0', id, source: 'test', type: 'api.call', subject: tenant, time, data: { ms: 1 } };
}
