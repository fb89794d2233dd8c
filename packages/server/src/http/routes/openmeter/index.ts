import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../../shared/time.ts';
import type { HttpDeps } from '../../app.ts';
import type { Router } from '../../route.ts';
import { MeterCatalog } from './catalog.ts';
import { openMeterEventRoutes } from './events.ts';
import { openMeterMeterRoutes } from './meters.ts';
import { openMeterPortalRoutes } from './portal.ts';
import { registerProblemDetails } from './problem.ts';
import { openMeterQueryRoutes } from './query.ts';

/** What the OpenMeter-compatible API needs: the same services as the native one, and a clock (the system's when absent). */
export type OpenMeterDeps = Pick<HttpDeps, 'store' | 'keys' | 'meters' | 'ingest' | 'queries' | 'metrics' | 'maxEventsPerRequest'> & { clock?: Clock };

/**
 * OpenMeter's v1 API under /api/v1, so `@openmeter/sdk` works against Tally by changing its base
 * URL: events, meters, meter queries and the consumer portal, mapped onto the same services as
 * `/v1/…` (docs/openmeter.md lists what is mapped and what is not). Errors are answered as
 * `application/problem+json`, as OpenMeter does.
 */
export function openMeterRoutes(router: Router, app: FastifyInstance, d: OpenMeterDeps): void {
  const clock = d.clock ?? systemClock;
  registerProblemDetails(app);
  const catalog = new MeterCatalog(d.store, d.meters, clock);
  openMeterEventRoutes(router, d.ingest, d.metrics, d.maxEventsPerRequest);
  openMeterMeterRoutes(router, catalog);
  openMeterQueryRoutes(router, { catalog, queries: d.queries, metrics: d.metrics, clock });
  openMeterPortalRoutes(router, { catalog, queries: d.queries, metrics: d.metrics, clock, keys: d.keys });
}
