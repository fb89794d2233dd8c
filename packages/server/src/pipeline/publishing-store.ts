import type { AppendOutcome, EventRecord } from '../events/event.ts';
import type { MeterDefinition } from '../meters/meter.ts';
import { TallyError } from '../errors/registry.ts';
import type { EpochMicros } from '../shared/time.ts';
import type { ClickHouseStore } from '../store/clickhouse/clickhouse-store.ts';
import type { AggregateQuery, AggregateRow, EventListQuery, RollupDeriver, StoredEvent, KeyUse, StoredKey, UniqueRow, UsageStore } from '../store/port.ts';
import type { EventLog } from '../stream/port.ts';
import type { Resolution } from '../usage/resolution.ts';

/**
 * The UsageStore an API node of the distributed profile sees: `append` publishes to the event
 * log and answers once the log acknowledged (a re-send inside the log's duplicate window is
 * `duplicate`; a later re-send is `accepted` here and dropped by the worker, counted once);
 * every read goes to ClickHouse. Meters can only be created while the node starts (from the
 * config file): a meter added at run time would race the workers' writes.
 */
export class PublishingStore implements UsageStore {
  readonly engine = 'clickhouse+jetstream';
  private metersOpen = true;

  constructor(
    private readonly ch: ClickHouseStore,
    private readonly log: EventLog,
  ) {}

  /** Called once the config meters are registered: later meter creation is refused. */
  sealMeters(): void {
    this.metersOpen = false;
  }

  async append(events: readonly EventRecord[]): Promise<AppendOutcome[]> {
    const outcomes = await this.log.publish(events);
    // The log cannot compare content: a duplicate inside the window is reported without a conflict check.
    return outcomes.map((o) => (o === 'accepted' ? { status: 'accepted' } : { status: 'duplicate', conflict: false }));
  }

  createMeter(def: MeterDefinition, derive: RollupDeriver, onCommitted: () => void): Promise<{ backfilled: number; skipped: number }> {
    if (!this.metersOpen) {
      return Promise.reject(new TallyError('CONFLICT', `the distributed profile takes meters from the config file only: add "${def.slug}" to every node's config and restart workers, then API nodes`));
    }
    return this.ch.createMeter(def, derive, onCommitted);
  }

  listMeters(): Promise<MeterDefinition[]> {
    return this.ch.listMeters();
  }
  aggregate(q: AggregateQuery, res: Resolution): Promise<AggregateRow[]> {
    return this.ch.aggregate(q, res);
  }
  countUnique(q: AggregateQuery): Promise<UniqueRow[]> {
    return this.ch.countUnique(q);
  }
  scanEvents(type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
    return this.ch.scanEvents(type, from, to, tenants);
  }
  listEvents(q: EventListQuery): Promise<StoredEvent[]> {
    return this.ch.listEvents(q);
  }

  countEvents(): Promise<bigint> {
    return this.ch.countEvents();
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.ch.getMeta(key);
  }
  setMeta(key: string, value: string): Promise<void> {
    return this.ch.setMeta(key, value);
  }
  putKey(key: StoredKey): Promise<void> {
    return this.ch.putKey(key);
  }
  listKeys(): Promise<StoredKey[]> {
    return this.ch.listKeys();
  }
  revokeKey(id: string, at: EpochMicros): Promise<boolean> {
    return this.ch.revokeKey(id, at);
  }
  touchKeys(uses: readonly KeyUse[]): Promise<void> {
    return this.ch.touchKeys(uses);
  }
  /** Ready when the log takes events: ingest keeps working (events wait in the log) while ClickHouse is down. */
  ping(): Promise<void> {
    return this.log.ping();
  }
  async close(): Promise<void> {
    await this.log.close();
    await this.ch.close();
  }
}
