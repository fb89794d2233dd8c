import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { KeyService } from './auth/keys.ts';
import { ConfigError } from './config/load.ts';
import type { TallyConfig } from './config/schema.ts';
import { ActorHasher } from './events/actor-hash.ts';
import { TallyError } from './errors/registry.ts';
import { buildHttpApp } from './http/app.ts';
import { IngestService } from './ingest/ingest-service.ts';
import { MeterService } from './meters/meter-service.ts';
import { MeterRegistry } from './meters/registry.ts';
import { TallyMetrics } from './ops/metrics.ts';
import { MICROS_PER_MS, systemClock, type Clock } from './shared/time.ts';
import { openDistributed } from './pipeline/distributed.ts';
import { DuckDbStore } from './store/duckdb/duckdb-store.ts';
import type { UsageStore } from './store/port.ts';
import { deriveRollups } from './usage/derive-rollups.ts';
import { QueryService } from './usage/query-service.ts';
import { PlanCatalog } from './quota/catalog.ts';
import { QuotaConsumer } from './quota/consume.ts';
import { openQuotaCounters, type QuotaCountersSetup } from './quota/setup.ts';
import { inOrder, QuotaOverridesService } from './quota/overrides/overrides-service.ts';
import { TimeWeightedUsage } from './quota/time-weighted-usage.ts';
import { QuotaService } from './quota/quota-service.ts';
import { ClickHouseGrantRepo } from './quota/grants/clickhouse-repo.ts';
import { DuckDbGrantRepo } from './quota/grants/duckdb-repo.ts';
import { GrantsService } from './quota/grants/grants-service.ts';
import { QuotaRateLimits } from './quota/rate-limits.ts';
import { QuotaWarnings } from './quota/warnings.ts';
import { openBilling, type Billing } from './billing/setup.ts';
import { DataMinimiser } from './privacy/minimise.ts';
import { openAccessLog, type AccessLog } from './privacy/access-log/setup.ts';
import { openErasure } from './privacy/erasure/setup.ts';
import type { ErasureService } from './privacy/erasure/service.ts';
import { openAnalytics } from './analytics/setup.ts';
import type { AnalyticsService } from './analytics/service.ts';
import { leaseStoreFor, startJobs } from './jobs/setup.ts';
import { openRetention } from './privacy/retention/setup.ts';
import { openAlerts, type Alerts } from './alerts/setup.ts';
import { openCapacity, type Capacity } from './capacity/setup.ts';
import { hiddenTenants } from './audit/config.ts';
import { openAudit, type Audit } from './audit/setup.ts';

/** Version reported by the API. */
export const VERSION = '0.1.0';

/** A running Tally server. */
export interface RunningTally {
  url: string;
  port: number;
  /** The admin key to print for a newcomer: the configured one, or the generated dev key. */
  adminToken: string | null;
  /** True when this start generated the dev admin key. */
  createdDevKey: boolean;
  dataDir: string;
  app: FastifyInstance;
  store: UsageStore;
  /** Stops accepting, finishes in-flight requests, closes the store. */
  close(): Promise<void>;
}

/** Options beyond the config file (tests inject a clock). */
export interface StartOptions {
  clock?: Clock;
}

const SECRET_META = 'actor_hash_secret';
const DEV_KEY_FILE = 'admin.key';

/** Wires the configured profile (embedded: DuckDB; distributed: JetStream + ClickHouse + Redis) and starts listening. The one place wiring happens. */
export async function startTally(config: TallyConfig, opts: StartOptions = {}): Promise<RunningTally> {
  const clock = opts.clock ?? systemClock;
  const dataDir = resolve(config.store.dataDir);
  const registry = new MeterRegistry();
  // Distributed profile: append publishes to JetStream, reads go to ClickHouse (docs/distributed.md).
  const distributed = config.profile === 'distributed' ? await openDistributed(config, (events) => deriveRollups(events, (t) => registry.forType(t)), () => clock.nowMicros(), 'tally-api') : undefined;
  const embedded = distributed
    ? undefined
    : await DuckDbStore.open({ path: join(dataDir, 'tally.duckdb'), derive: (events, into) => deriveRollups(events, (t) => registry.forType(t), ['minute'], into), nowMicros: () => clock.nowMicros(), recoverOnOpen: false, memoryLimit: config.store.duckdb.memoryLimit, threads: config.store.duckdb.threads });
  const store: UsageStore = distributed ? distributed.store : embedded!;
  let jobs: Awaited<ReturnType<typeof startJobs>> | undefined;
  let billing: Billing | undefined;
  let accessLog: AccessLog | undefined;
  let analytics: AnalyticsService | undefined;
  let quotaCounters: QuotaCountersSetup | undefined;
  let stopOverrides: (() => void) | undefined;
  let alerts: Alerts | undefined;
  let capacity: Capacity | undefined;
  let audit: Audit | undefined;
  let selfUrl: string | undefined;
  let keys: KeyService | undefined;
  let erasures: ErasureService | undefined;
  // Jobs first: their runs finish (or are recorded as failed) while the store is still open.
  const closeStore = async () => {
    await erasures?.close();
    await jobs?.close();
    await alerts?.close();
    await billing?.close();
    await accessLog?.close();
    await analytics?.close();
    stopOverrides?.();
    await quotaCounters?.close();
    await capacity?.close();
    await audit?.close();
    await keys?.close().catch(() => undefined);
    await (distributed ? distributed.close() : store.close());
  };
  try {
    const minimiser = new DataMinimiser(config.privacy.allowedProperties);
    const meters = new MeterService(store, registry, (def) => minimiser.meterProblem(def));
    const registerMeters = async () => {
      await meters.load();
      // A stored meter reading a property the allow-lists now drop would stop counting it.
      const blocked = registry.all().flatMap((m) => minimiser.meterProblem(m.def) ?? []);
      if (blocked.length > 0) throw new ConfigError('config', blocked.map((message) => ({ path: 'privacy.allowedProperties', message })));
      // Rollups of events committed after the last flush are replayed with the stored meters.
      await embedded?.recover();
      for (const [i, def] of config.meters.entries()) {
        try {
          await meters.create(def);
        } catch (err) {
          if (err instanceof TallyError && err.code === 'CONFLICT') throw new ConfigError('config', [{ path: `meters.${i}`, message: err.message }]);
          throw err;
        }
      }
    };
    if (distributed) {
      await distributed.exclusive('meters', registerMeters);
      distributed.store.sealMeters();
    } else await registerMeters();
    let secret = config.security.actorHashSecret ?? (await store.getMeta(SECRET_META));
    if (secret === undefined) {
      secret = ActorHasher.generateSecret();
      await store.setMeta(SECRET_META, secret);
    }
    keys = new KeyService(store, clock);
    await keys.load();
    keys.startUsageFlush();
    const { adminToken, createdDevKey } = await bootstrapAdminKey(keys, config, dataDir);

    const metrics = new TallyMetrics(() => store.countEvents(), { tenantLabels: config.server.metricsTenantLabels });
    distributed?.registerMetrics(metrics.registry);
    const hasher = new ActorHasher(secret, undefined, config.security.previousActorHashSecrets);
    const ingest = new IngestService(store, registry, hasher, clock, {
      backfillDays: config.ingest.backfillDays,
      maxFutureMicros: config.ingest.maxFutureSeconds * 1000 * MICROS_PER_MS,
      minimiser,
    });
    const queries = new QueryService(store, registry, clock, hiddenTenants(config.audit));
    const { catalog, problems } = PlanCatalog.compile(config, registry);
    if (problems.length > 0) throw new ConfigError('config', problems);
    const warnings = new QuotaWarnings(ingest);
    quotaCounters = await openQuotaCounters(config, clock);
    const quotas = new QuotaService(catalog, quotaCounters.counters, warnings, registry, clock);
    quotas.timeWeighted = new TimeWeightedUsage(queries, clock);
    // Seeded before listening: no event can be both in the seed and fed live.
    await quotaCounters.seed(quotas, queries);
    quotaCounters.registerMetrics(metrics.registry, quotas);
    ingest.onAccepted(quotas.feed);
    ingest.onAccepted(metrics.countAccepted);
    const overrides = new QuotaOverridesService({ store, quotas, base: catalog, ingest, queries, clock, exclusive: distributed ? (fn) => distributed.exclusive('quota-overrides', fn) : inOrder() });
    await overrides.start();
    const grantRepo = embedded ? await DuckDbGrantRepo.open(await embedded.connect()) : await ClickHouseGrantRepo.open({ url: config.distributed.clickhouseUrl, database: config.distributed.clickhouseDatabase });
    const grants = new GrantsService({ repo: grantRepo, overrides, queries, ingest, clock, exclusive: distributed ? (fn) => distributed.exclusive('quota-overrides', fn) : inOrder() });
    await grants.start();
    stopOverrides = () => {
      overrides.stop();
      grants.stop();
      void grantRepo.close();
    };
    const quota = { quota: quotas, consumer: new QuotaConsumer(quotas, ingest, registry), warnings, rateLimits: new QuotaRateLimits(catalog, clock, () => quotas.catalog), overrides, grants };
    const leases = leaseStoreFor(config, distributed);
    billing = await openBilling({ config, store, embedded, leases, meters: registry, queries, catalog, clock });
    accessLog = await openAccessLog(config, embedded);
    analytics = await openAnalytics({ config, store, embedded, meters: registry, queries });
    alerts = await openAlerts({ config, store, embedded, leases, meters: registry, queries, catalog, warnings, invoices: billing.invoices, metrics: metrics.registry, ingest, clock });
    capacity = await openCapacity({ config, store, embedded, meters: registry, queries, clock, invoices: billing.invoices, upcoming: billing.upcoming, quotas });
    audit = await openAudit({ config, store, embedded, liveCounters: distributed?.counters, ingest, meters: registry, queries, quotas, invoices: billing.invoices, metrics: metrics.registry, keys, selfUrl: () => selfUrl, clock });
    const retention = openRetention({ config, store, embedded, distributed, accessLog: accessLog.repo, alerts: alerts.store });
    erasures = await openErasure({ config, embedded, hasher, archiveDir: audit.archiveDir, clock });
    jobs = await startJobs({ config, store, embedded, distributed, meters: registry, queries, clock, metrics: metrics.registry, leases, jobs: [billing.job, alerts.job, ...audit.jobs, ...capacity.jobs, retention.job, ...(erasures ? [erasures.job()] : [])] });
    await alerts.start(jobs.runner);
    audit.attach(jobs.runner);
    await erasures?.attach(jobs.runner);
    let draining = false;
    const app = buildHttpApp({
      audit,
      store,
      keys,
      meters,
      ingest,
      queries,
      metrics,
      quota,
      upcomingInvoices: billing.upcoming,
      invoices: billing.invoices,
      analytics: { service: analytics, clock },
      jobs: jobs.runner,
      retention: { service: retention.service, clock },
      accessLog: { ...accessLog, nowMicros: () => clock.nowMicros() },
      alerts: alerts.service,
      capacity: { capacity, clock },
      maxBodyBytes: config.ingest.maxBodyBytes,
      maxEventsPerRequest: config.ingest.maxEventsPerRequest,
      limits: config.server,
      metricsRequireKey: config.server.metricsRequireKey,
      erasures,
      metricsToken: config.server.metricsToken,
      logLevel: config.server.logLevel,
      version: VERSION,
      isDraining: () => draining,
    });
    await app.listen({ host: config.server.host, port: config.server.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
    const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
    selfUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      adminToken,
      createdDevKey,
      dataDir,
      app,
      store,
      close: () =>
        (closing ??= (async () => {
          draining = true;
          await app.close();
          await closeStore();
        })()),
    };
  } catch (err) {
    await closeStore();
    throw err;
  }
}

/**
 * Makes sure an admin can get in: a configured `security.adminKey` is registered; otherwise,
 * with no keys at all, a dev admin key is generated and kept in `<dataDir>/admin.key` (0600)
 * so every local start can print it. Production deployments set TALLY_ADMIN_KEY instead.
 */
async function bootstrapAdminKey(keys: KeyService, config: TallyConfig, dataDir: string): Promise<{ adminToken: string | null; createdDevKey: boolean }> {
  const configured = config.security.adminKey;
  if (configured !== undefined) {
    try {
      keys.verify(configured);
    } catch {
      await keys.create('configured admin', ['admin'], null, configured);
    }
    return { adminToken: configured, createdDevKey: false };
  }
  const file = join(dataDir, DEV_KEY_FILE);
  if (keys.list().length === 0) {
    const { token } = await keys.create('dev admin (generated on first start)', ['admin']);
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { adminToken: token, createdDevKey: true };
  }
  return { adminToken: existsSync(file) ? readFileSync(file, 'utf8').trim() : null, createdDevKey: false };
}
