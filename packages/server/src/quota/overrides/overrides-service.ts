import { TallyError } from '../../errors/registry.ts';
import type { IngestService } from '../../ingest/ingest-service.ts';
import { formatMicros, type Clock } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import type { QueryService } from '../../usage/query-service.ts';
import type { PlanCatalog } from '../catalog.ts';
import type { QuotaService } from '../quota-service.ts';
import { QUOTA_SOURCE } from '../warnings.ts';
import { applyOverrides, checkOverride, type GrantExtras } from './apply.ts';
import { OVERRIDE_EVENT_TYPE, OVERRIDES_META, parseOverrides, type QuotaOverrides, type TenantQuota } from './overrides.ts';

/** Runs functions one at a time in this process (the embedded profile's `exclusive`). */
export function inOrder(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** What {@link QuotaOverridesService} needs. */
export interface OverridesDeps {
  store: UsageStore;
  quotas: QuotaService;
  /** The catalog compiled from the config (overrides apply on top of it). */
  base: PlanCatalog;
  ingest: IngestService;
  queries: QueryService;
  clock: Clock;
  /** Runs `fn` alone across nodes (distributed: a Redis lock; embedded: in order). */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** How often every node reads the stored overrides (default 250 ms: in force everywhere within a second). */
  pollMs?: number;
}

/**
 * Run-time plan assignments and entitlement overrides per tenant (`PUT /v1/tenants/{tenant}`):
 * one versioned document in the store's meta, written under a cluster-wide lock, read by every
 * node every `pollMs`, applied by swapping the quota catalog; each change is also recorded as an
 * immutable `tally.quota.override` event (who, before, after) through the ingest path.
 */
export class QuotaOverridesService {
  private version = -1;
  private doc: QuotaOverrides = { version: 0, tenants: {} };
  private granted: GrantExtras = new Map();
  /** The catalog with the overrides but without grants (grants add to these limits). */
  plain: PlanCatalog;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** Failed reads of the stored overrides (the last applied version stays in force). */
  pollErrors = 0;

  constructor(private readonly d: OverridesDeps) {
    this.plain = d.base;
  }

  /** Applies what grants add to each tenant's limits (`grants/grants-service.ts`), keeping the overrides. */
  setGranted(granted: GrantExtras): void {
    this.granted = granted;
    this.d.quotas.catalog = applyOverrides(this.d.base, this.doc, granted);
  }

  /** Loads and applies the stored overrides, then polls for changes. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.poll(), this.d.pollMs ?? 250).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private poll(): Promise<void> {
    this.polling ??= this.refresh()
      .catch(() => void this.pollErrors++)
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async load(): Promise<QuotaOverrides> {
    return parseOverrides(await this.d.store.getMeta(OVERRIDES_META));
  }

  /** Applies the stored document if it changed since the last one applied here. */
  async refresh(): Promise<void> {
    await this.apply(await this.load());
  }

  // Versions only grow: a read that raced a newer write here is never applied over it.
  private async apply(doc: QuotaOverrides): Promise<void> {
    if (doc.version <= this.version) return;
    const before = this.d.quotas.catalog;
    const next = applyOverrides(this.d.base, doc, this.granted);
    this.plain = applyOverrides(this.d.base, doc);
    this.d.quotas.catalog = next;
    this.doc = doc;
    this.version = doc.version;
    // A tenant on another plan now has counters for entitlements nothing fed here yet.
    for (const t of Object.keys(doc.tenants)) if (before.planOf(t)?.id !== next.planOf(t)?.id) await this.d.quotas.seedTenant(this.d.queries, t).catch(() => undefined);
  }

  /** The tenant's run-time settings (`null`: none, the config decides). */
  async get(tenant: string): Promise<TenantQuota | null> {
    return (await this.load()).tenants[tenant] ?? null;
  }

  /** Replaces the tenant's run-time settings (an empty body with `plan: null` clears them); audited. */
  async put(tenant: string, body: Pick<TenantQuota, 'plan' | 'entitlements'>, by: string): Promise<TenantQuota | null> {
    const problems = checkOverride(this.d.base, tenant, body);
    if (problems.length > 0) throw new TallyError('VALIDATION_FAILED', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
    const now = this.d.clock.nowMicros();
    const clear = (body.plan === null || body.plan === undefined) && Object.keys(body.entitlements).length === 0;
    const after: TenantQuota | null = clear ? null : { ...(body.plan ? { plan: body.plan } : {}), entitlements: body.entitlements, updatedAt: formatMicros(now), updatedBy: by };
    const { doc, before } = await this.d.exclusive(async () => {
      const doc = await this.load();
      const before = doc.tenants[tenant] ?? null;
      if (after === null) delete doc.tenants[tenant];
      else doc.tenants[tenant] = after;
      doc.version += 1;
      await this.d.store.setMeta(OVERRIDES_META, JSON.stringify(doc));
      return { doc, before };
    });
    await this.apply(doc);
    const id = this.d.ingest.internalId('qo', [tenant, String(doc.version), String(now)]);
    const event = { specversion: '1.0', id, source: QUOTA_SOURCE, type: OVERRIDE_EVENT_TYPE, subject: tenant, time: formatMicros(now), data: { by, version: doc.version, before, after } };
    const r = await this.d.ingest.ingest([event], { internal: true });
    if (r.rejected > 0) throw new TallyError('STORE_UNAVAILABLE', 'the change is in force but its audit record could not be written; retry the same request');
    return after;
  }
}
