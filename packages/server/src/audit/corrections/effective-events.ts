import { eventKey, type EventRecord } from '../../events/event.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import { CORRECTION_TYPE, correctedEvent } from './correction.ts';

/**
 * The keys (`eventKey`) of events of `type` in [from, to) voided by a correction. A correction
 * has its voided event's time, so the corrections of a range are in the same range.
 */
export async function voidedKeys(store: UsageStore, type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): Promise<Set<string>> {
  const voided = new Set<string>();
  for await (const page of store.scanEvents(CORRECTION_TYPE, from, to, tenants)) {
    for (const c of page) {
      const t = correctedEvent(c);
      if (t && t.type === type) voided.add(eventKey(t.tenant, t.id));
    }
  }
  return voided;
}

/**
 * `store.scanEvents` without the events a correction voided: what the batch layer (billing,
 * reconciliation, raw-path queries) recomputes from. Replacement events are ordinary events
 * and are included.
 */
export async function* scanEffective(store: UsageStore, type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
  const voided = await voidedKeys(store, type, from, to, tenants);
  for await (const page of store.scanEvents(type, from, to, tenants)) {
    yield voided.size === 0 ? page : page.filter((e) => !voided.has(eventKey(e.tenant, e.id)));
  }
}
