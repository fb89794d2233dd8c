import { erasureRoutes } from './routes/erasures.ts';
import type { ErasureService } from '../privacy/erasure/service.ts';
import type { AccessLogRepo } from '../privacy/access-log/repo.ts';
import type { AccessRecorder } from '../privacy/access-log/recorder.ts';
import { accessLogRoutes } from './routes/access-log.ts';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { KeyService } from '../auth/keys.ts';
import { TallyError } from '../errors/registry.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { MeterService } from '../meters/meter-service.ts';
import type { TallyMetrics } from '../ops/metrics.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import type { QuotaConsumer } from '../quota/consume.ts';
import type { QuotaService } from '../quota/quota-service.ts';
import type { QuotaRateLimits } from '../quota/rate-limits.ts';
import type { QuotaWarnings } from '../quota/warnings.ts';
import type { QuotaOverridesService } from '../quota/overrides/overrides-service.ts';
import type { GrantsService } from '../quota/grants/grants-service.ts';
import type { InvoiceService } from '../billing/invoice-service.ts';
import type { UpcomingInvoices } from '../billing/upcoming.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { RetentionService } from '../privacy/retention/service.ts';
import type { AnalyticsService } from '../analytics/service.ts';
import type { Clock } from '../shared/time.ts';
import type { AlertService } from '../alerts/service.ts';
import type { AuditHttp } from '../audit/setup.ts';
import { auditRoutes } from './routes/audit.ts';
import { registerBodyParsers } from './body.ts';
import { registerDashboard } from './dashboard.ts';
import { newRequestId, sendClientError, sendError, sendExpectationFailed } from './errors.ts';
import { buildOpenApi } from './openapi.ts';
import { Admission, registerAdmission, timeoutOptions, type EdgeLimits } from './overload.ts';
import { Router } from './route.ts';
import { alertRoutes } from './routes/alerts.ts';
import { billingRoutes } from './routes/billing.ts';
import { eventListRoutes } from './routes/event-list.ts';
import { eventRoutes } from './routes/events.ts';
import { invoiceRoutes } from './routes/invoices.ts';
import { jobRoutes } from './routes/jobs.ts';
import { retentionRoutes } from './routes/retention.ts';
import { keyRoutes } from './routes/keys.ts';
import { meterRoutes } from './routes/meters.ts';
import { opsRoutes } from './routes/ops.ts';
import { queryRoutes } from './routes/query.ts';
import { quotaRoutes } from './routes/quota.ts';
import { segmentRoutes } from './routes/segment.ts';
import { openMeterRoutes } from './routes/openmeter/index.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { capacityRoutes } from './routes/capacity.ts';
import type { Capacity } from '../capacity/setup.ts';

/** Everything the HTTP edge needs, already wired. */
export interface HttpDeps {
  store: UsageStore;
  keys: KeyService;
  meters: MeterService;
  ingest: IngestService;
  queries: QueryService;
  metrics: TallyMetrics;
  /** Quotas (entitlements, consumption, warnings, plan rate limits); absent: no quota routes. */
  quota?: { quota: QuotaService; consumer: QuotaConsumer; warnings: QuotaWarnings; rateLimits: QuotaRateLimits; overrides?: QuotaOverridesService; grants?: GrantsService };
  /** The batch layer's job runner. */
  jobs?: JobRunner;
  /** Retention policy, preview and on-demand runs (needs `jobs`). */
  retention?: { service: RetentionService; clock: Clock };
  /** The access log: read and admin calls are recorded before they are answered; `GET /v1/audit`. */
  accessLog?: { repo: AccessLogRepo; recorder: AccessRecorder; nowMicros: () => number };
  /** Alert rules, alerts, webhook endpoints and deliveries. */
  alerts?: AlertService;
  /** Issued invoices (billing). */
  invoices?: InvoiceService;
  /** The upcoming invoice of a tenant (billing). */
  upcomingInvoices?: UpcomingInvoices;
  /** Product analytics (`/v1/analytics`) and the clock its default ranges end at. */
  analytics?: { service: AnalyticsService; clock: Clock };
  /** Forecasts, the storage planner, costs and margins, with the clock their periods default by. */
  capacity?: { capacity: Capacity; clock: Clock };
  /** Corrections, reconciliation and canaries (audit). */
  audit?: AuditHttp;
  maxBodyBytes: number;
  maxEventsPerRequest: number;
  /** `GET /metrics` needs a read key without a tenant binding. */
  metricsRequireKey?: boolean;
  /** End-user erasure; absent where the profile lacks it (the routes then say so). */
  erasures?: ErasureService | undefined;
  /** `GET /metrics` needs this bearer token (server.metricsToken). */
  metricsToken?: string | undefined;
  /** In-flight limits and timeouts of the edge (docs/overload.md). */
  limits: EdgeLimits;
  logLevel: string;
  version: string;
  isDraining: () => boolean;
}

/** Builds the Fastify app: parsers, auth, routes, error envelope, OpenAPI. */
export function buildHttpApp(d: HttpDeps): FastifyInstance {
  const app = Fastify({
    logger: d.logLevel === 'silent' ? false : { level: d.logLevel },
    bodyLimit: d.maxBodyBytes,
    genReqId: newRequestId,
    // Long path parameters reach validation (a clear 400) instead of "no route" (404).
    routerOptions: { maxParamLength: 2048 },
    // Errors raised before a route runs (bad URL encoding) and Node's own (431, malformed
    // requests, timeouts) answer with the registry envelope too.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    clientErrorHandler: sendClientError,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    // Per-request info logs would drown a busy ingest node; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ...timeoutOptions(d.limits),
  });
  const admission = new Admission({ ...d.limits, maxBodyBytes: d.maxBodyBytes });
  registerBodyParsers(app, d.maxBodyBytes, admission);
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', String(req.id));
    if (d.isDraining() && req.url !== '/healthz') throw new TallyError('STORE_UNAVAILABLE', 'the server is shutting down; retry on another node or shortly');
  });
  // After the draining check: a request refused there takes no share of the limits.
  registerAdmission(app, admission, d.keys, d.metrics.registry);
  // While draining, tell keep-alive clients to hang up after this answer, so closing does not
  // wait for idle sockets to time out.
  app.addHook('onSend', async (_req, reply) => {
    if (d.isDraining()) void reply.header('connection', 'close');
  });
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => sendError(new TallyError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply));

  // Every route as registered, so a test can hold the OpenAPI document to what is served.
  const registered: { method: string; url: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) registered.push({ method, url: r.url });
  });
  app.decorate('registeredRoutes', registered);
  const router = new Router(app, d.keys, d.accessLog);
  if (d.accessLog) accessLogRoutes(router, d.accessLog);
  eventRoutes(router, d.ingest, d.metrics, d.maxEventsPerRequest, d.quota?.rateLimits);
  segmentRoutes(router, d);
  openMeterRoutes(router, app, d);
  meterRoutes(router, d.meters);
  queryRoutes(router, d.queries, d.metrics);
  keyRoutes(router, d.keys);
  if (d.quota) quotaRoutes(router, { ...d.quota, store: d.store });
  if (d.upcomingInvoices) billingRoutes(router, d.upcomingInvoices);
  if (d.jobs) jobRoutes(router, d.jobs);
  if (d.jobs && d.retention) retentionRoutes(router, { ...d.retention, runner: d.jobs });
  if (d.invoices) invoiceRoutes(router, d.invoices);
  if (d.alerts) alertRoutes(router, d.alerts);
  if (d.capacity) capacityRoutes(router, d.capacity.capacity, d.capacity.clock);
  eventListRoutes(router, d.store);
  erasureRoutes(router, d.erasures);
  if (d.analytics) analyticsRoutes(router, d.analytics.service, d.analytics.clock);
  if (d.audit) auditRoutes(router, d.audit);
  opsRoutes(router, d.store, d.metrics, d.isDraining, d.metricsRequireKey ? d.keys : undefined, d.metricsToken);
  const openapi = buildOpenApi(router.specs, d.version);
  app.get('/openapi.json', async () => openapi);
  registerDashboard(app);
  app.server.on('checkExpectation', sendExpectationFailed);
  return app;
}
