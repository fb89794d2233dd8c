import type { MeterDefinition } from '../src/meters/meter.ts';
import type { Clock } from '../src/shared/time.ts';

/** A settable clock for tests (epoch microseconds). */
export function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = Date.parse(iso) * 1000;
  return { nowMicros: () => now, set: (t) => (now = Date.parse(t) * 1000) };
}

/** A CloudEvent for tests. */
export function ce(id: string, tenant: string, time: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { specversion: '1.0', id, source: 'test', type: 'api.request', subject: tenant, time, data, ...extra };
}

/** Meters covering every aggregation, on `api.request` events. */
export const TEST_METERS: MeterDefinition[] = [
  { slug: 'requests', eventType: 'api.request', aggregation: 'COUNT', groupBy: { route: '$.route', method: '$.method' } },
  { slug: 'bytes', eventType: 'api.request', aggregation: 'SUM', valueProperty: '$.bytes', groupBy: { route: '$.route' } },
  { slug: 'latency_min', eventType: 'api.request', aggregation: 'MIN', valueProperty: '$.ms', groupBy: {} },
  { slug: 'latency_max', eventType: 'api.request', aggregation: 'MAX', valueProperty: '$.ms', groupBy: {} },
  { slug: 'latency_avg', eventType: 'api.request', aggregation: 'AVG', valueProperty: '$.ms', groupBy: {} },
  { slug: 'latest_ms', eventType: 'api.request', aggregation: 'LATEST', valueProperty: '$.ms', groupBy: {} },
  { slug: 'users', eventType: 'api.request', aggregation: 'UNIQUE_COUNT', valueProperty: '$actor', groupBy: { route: '$.route' } },
];
