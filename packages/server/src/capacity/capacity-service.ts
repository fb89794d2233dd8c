import { TallyError } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { UsageStore } from '../store/port.ts';
import type { CapacityConfig, RetentionDays } from './capacity-schema.ts';
import type { ForecastService } from './forecast-service.ts';
import { planStorage, type StoragePlan } from './planner.ts';
import type { StorageStats } from './storage-stats.ts';

/** A what-if on the plan: any of these replaces the configured or forecast figure. */
export interface CapacityWhatIf {
  eventsPerDay?: number;
  retentionDays?: Partial<RetentionDays>;
  meter?: string;
  horizonDays?: number;
}

/** The capacity answer: the plan and where its inputs came from. */
export interface CapacityAnswer extends StoragePlan {
  engine: string;
  measuredBy: string;
  eventsPerDayBasis: string;
  retentionDays: RetentionDays;
  approximate: true;
}

/** Plans storage from the store's measured bytes per tier, the events/day forecast and retention. */
export class CapacityService {
  constructor(
    private readonly stats: StorageStats,
    private readonly store: UsageStore,
    private readonly forecasts: ForecastService,
    private readonly meters: MeterRegistry,
    private readonly config: CapacityConfig,
  ) {}

  async plan(w: CapacityWhatIf = {}): Promise<CapacityAnswer> {
    const measure = await this.stats.measure();
    const stored = Number(await this.store.countEvents());
    const retention = { ...this.config.retentionDays, ...w.retentionDays };
    let eventsPerDay = w.eventsPerDay;
    let basis = 'given (what-if)';
    if (eventsPerDay === undefined) {
      const slug = w.meter ?? this.config.eventsMeter ?? this.meters.all().find((m) => m.def.aggregation === 'COUNT' && m.def.filter === undefined)?.slug;
      if (!slug) throw new TallyError('VALIDATION_FAILED', 'no COUNT meter to forecast events per day from: pass eventsPerDay or meter, or set capacity.eventsMeter', [{ path: 'query.eventsPerDay', message: 'required without a COUNT meter' }]);
      const days = w.horizonDays ?? 30;
      const f = await this.forecasts.forecast({ meter: slug, horizonHours: days * 24, window: 'day', historyDays: 28, level: 0.8 });
      eventsPerDay = Math.round(f.data.reduce((s, p) => s + p.value, 0) / f.data.length);
      const type = this.meters.get(slug)?.def.eventType;
      basis = `mean of the next ${days} days' forecast of meter "${slug}" (events of type ${type}; ${f.method}): ${eventsPerDay} events/day`;
    }
    return { engine: measure.engine, measuredBy: measure.method, eventsPerDayBasis: basis, retentionDays: retention, approximate: true, ...planStorage(measure, stored, eventsPerDay, retention) };
  }
}
