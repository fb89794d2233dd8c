import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor(countEvents: () => Promise<bigint>) {
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
}
