import { OVERRIDE_EVENT_TYPE, OVERRIDES_META, parseOverrides } from '../quota/overrides/overrides.ts';
import type { UsageStore } from '../store/port.ts';
import type { PlanTimeline, RuntimePlanChange } from './plan-timeline.ts';

/** The part of a `tally.quota.override` event billing reads. */
interface OverrideData {
  version?: number;
  after?: { plan?: string } | null;
}

/**
 * Feeds the plan changes made through the API (`PUT /v1/tenants/{tenant}`, the quota domain's
 * run-time overrides) into billing's {@link PlanTimeline}. The quota domain keeps only the
 * current assignment; its history is in the immutable `tally.quota.override` events it records
 * for every change (time = when the change took effect, `data.after.plan`), which this reads —
 * both profiles, nothing written. The store's overrides version (one meta read) is read on every
 * refresh, so a change is billed from the next call on any node; the events are scanned again
 * only when the version moved, and a version is taken as seen only once its
 * event is readable (the event is written just after the version, and in the distributed
 * profile reaches ClickHouse through the stream).
 */
export class RuntimePlanChanges {
  private seenVersion = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly store: UsageStore,
    private readonly timeline: PlanTimeline,
  ) {}

  /** Brings the timeline up to date with the API's plan changes (cheap when nothing changed). */
  refresh(): Promise<void> {
    // Concurrent callers share one read.
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async load(): Promise<void> {
    const version = parseOverrides(await this.store.getMeta(OVERRIDES_META)).version;
    if (version === this.seenVersion) return;
    const changes: (RuntimePlanChange & { version: number })[] = [];
    let newest = 0;
    for await (const page of this.store.scanEvents(OVERRIDE_EVENT_TYPE, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
      for (const e of page) {
        const d = e.data as OverrideData;
        newest = Math.max(newest, d.version ?? 0);
        changes.push({ tenant: e.tenant, at: e.time, plan: d.after?.plan ?? null, version: d.version ?? 0 });
      }
    }
    // Changes made in the same microsecond apply in the order they were made.
    this.timeline.setRuntimeChanges(changes.sort((a, b) => a.at - b.at || a.version - b.version));
    // Until the newest version's event is readable, look again on the next call.
    if (newest >= version) this.seenVersion = version;
  }
}
