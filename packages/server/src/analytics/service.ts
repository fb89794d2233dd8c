import type { TallyConfig } from '../config/schema.ts';
import { TallyError } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { UsageStore } from '../store/port.ts';
import type { QueryService } from '../usage/query-service.ts';
import { adoption, type AdoptionAnswer } from './adoption.ts';
import { approximateTop, approximateUniques, percentiles, type ApproximateTopAnswer, type PercentileAnswer, type RawRange, type UniquesAnswer } from './approximate.ts';
import { funnel, type FunnelAnswer } from './funnel.ts';
import type { AdoptionQuery, FunnelQuery, RetentionQuery } from './model.ts';
import type { AnalyticsStore } from './port.ts';
import { retention, type RetentionAnswer } from './retention.ts';
import { topN, type TopAnswer, type TopQuery } from './top.ts';
import { trend, type TrendAnswer, type TrendQuery } from './trends.ts';

/** Counters Space-Saving keeps unless asked otherwise: values off by at most 0.1 % of the total. */
export const DEFAULT_COUNTERS = 1000;

/**
 * Product analytics over one profile's stores: exact answers by default (funnels, retention
 * and adoption where the raw events live, top-N and trends from the rollups), approximate
 * ones only when asked, labelled with their bound.
 */
export class AnalyticsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly usage: UsageStore,
    private readonly meters: MeterRegistry,
    private readonly queries: QueryService,
    private readonly config: Pick<TallyConfig, 'tenants'>,
    /** Tenants left out when a question names none (the canary tenants, docs/audit.md). */
    private readonly hidden: readonly string[] = [],
  ) {}

  /** `q` with the hidden tenants excluded unless it names its tenants. */
  private visible<Q extends { tenants?: string[] | undefined; excludeTenants?: string[] | undefined }>(q: Q): Q {
    return q.tenants === undefined && this.hidden.length > 0 ? { ...q, excludeTenants: [...this.hidden] } : q;
  }

  get engine(): string {
    return this.store.engine;
  }

  /** The configured tenants on a plan (segmentation); unknown plans are a 400. */
  tenantsOnPlan(plan: string): string[] {
    const tenants = this.config.tenants.filter((t) => t.plan === plan).map((t) => t.id);
    const known = new Set(this.config.tenants.flatMap((t) => (t.plan ? [t.plan] : [])));
    if (!known.has(plan)) throw new TallyError('VALIDATION_FAILED', `no configured tenant is on plan "${plan}"`, [{ path: 'query.plan', message: 'unknown plan' }]);
    return tenants;
  }

  funnel(q: FunnelQuery): Promise<FunnelAnswer> {
    return funnel(this.store, this.visible(q));
  }

  retention(q: RetentionQuery): Promise<RetentionAnswer> {
    return retention(this.store, this.visible(q));
  }

  adoption(q: AdoptionQuery): Promise<AdoptionAnswer> {
    return adoption(this.store, this.visible(q));
  }

  top(q: TopQuery): Promise<TopAnswer> {
    return topN(this.queries, this.meters, q);
  }

  approximateTop(q: RawRange & { by: string; limit: number; counters?: number | undefined }): Promise<ApproximateTopAnswer> {
    return approximateTop(this.usage, this.meters, { ...q, counters: q.counters ?? DEFAULT_COUNTERS });
  }

  trend(q: TrendQuery): Promise<TrendAnswer> {
    return trend(this.queries, q);
  }

  percentiles(q: RawRange, approximate: boolean): Promise<PercentileAnswer> {
    return percentiles(this.usage, this.meters, q, approximate);
  }

  uniques(q: RawRange): Promise<UniquesAnswer> {
    return approximateUniques(this.usage, this.meters, q);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
