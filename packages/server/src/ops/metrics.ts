import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventRecord } from '../events/event.ts';

/** The Prometheus metrics of one Tally process (a registry per app, so tests can run several). */
export class TallyMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'tally_ingest_events_total',
    help: 'Events received by ingest, by outcome (accepted, duplicate, rejected) and rejection code',
    labelNames: ['outcome', 'code'] as const,
    registers: [this.registry],
  });
  readonly ingestLatency = new Histogram({
    name: 'tally_ingest_request_duration_seconds',
    help: 'Time to answer POST /v1/events, including the durable commit',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly queryLatency = new Histogram({
    name: 'tally_query_duration_seconds',
    help: 'Time to answer a meter query, by resolution served',
    labelNames: ['resolution'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly rowsStored: Gauge;
  /** Accepted events per tenant: only when `server.metricsTenantLabels` is set (tenant ids are customer data). */
  readonly tenantEvents?: Counter<'tenant'>;

  constructor(countEvents: () => Promise<bigint>, opts: { tenantLabels?: boolean } = {}) {
    if (opts.tenantLabels) this.tenantEvents = new Counter({ name: 'tally_tenant_events_accepted_total', help: 'Events accepted per tenant (server.metricsTenantLabels)', labelNames: ['tenant'], registers: [this.registry] });
    this.rowsStored = new Gauge({
      name: 'tally_events_stored',
      help: 'Raw events in the store',
      registers: [this.registry],
      async collect() {
        // A store that is down must not take /metrics with it (the pipeline lag matters most then).
        this.set(Number(await countEvents().catch(() => NaN)));
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'tally_process_' });
  }

  /** Counts accepted events per tenant when tenant labels are on (an ingest `onAccepted` listener). */
  readonly countAccepted = (events: readonly EventRecord[]): void => {
    if (!this.tenantEvents) return;
    const by = new Map<string, number>();
    for (const e of events) by.set(e.tenant, (by.get(e.tenant) ?? 0) + 1);
    for (const [tenant, n] of by) this.tenantEvents.inc({ tenant }, n);
  };
}
