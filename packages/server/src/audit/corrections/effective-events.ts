import { eventKey, type EventRecord } from '../../events/event.ts';
import type { EpochMicros } from '../../shared/time.ts';
import { assertRetained } from '../../privacy/retention/policy.ts';
import type { UsageStore } from '../../store/port.ts';
import { CORRECTION_TYPE, correctedEvent } from './correction.ts';

/** Meta key set (before the first correction is stored) once a store holds corrections. */
const CORRECTIONS_META = 'corrections_recorded';
/** How long a "no corrections" answer is trusted before the meta is read again (other nodes may record one). */
const RECHECK_MS = 1000;
const known = new WeakMap<UsageStore, { seen: boolean; at: number }>();

/**
 * Whether the store may hold corrections: the raw paths skip the corrections scan until one is
 * recorded (a meta read instead of a scan per query). Once seen, always true.
 */
export async function mayHaveCorrections(store: UsageStore): Promise<boolean> {
  const k = known.get(store);
  if (k?.seen) return true;
  if (k && Date.now() - k.at < RECHECK_MS) return false;
  const seen = (await store.getMeta(CORRECTIONS_META)) !== undefined;
  known.set(store, { seen, at: Date.now() });
  return seen;
}

/** Records that the store holds (or is about to hold) corrections; call before storing one. */
export async function markCorrections(store: UsageStore): Promise<void> {
  if (known.get(store)?.seen) return;
  await store.setMeta(CORRECTIONS_META, '1');
  known.set(store, { seen: true, at: Date.now() });
}

/**
 * The keys (`eventKey`) of events of `type` in [from, to) voided by a correction. A correction
 * has its voided event's time, so the corrections of a range are in the same range.
 */
export async function voidedKeys(store: UsageStore, type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): Promise<Set<string>> {
  const voided = new Set<string>();
  if (!(await mayHaveCorrections(store))) return voided;
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
 * and are included. Throws RETENTION_EXCEEDED when `from` is before the raw tier's horizon.
 */
export async function* scanEffective(store: UsageStore, type: string, from: EpochMicros, to: EpochMicros, tenants?: string[]): AsyncIterable<EventRecord[]> {
  // Raw events retention deleted would make every recomputation partial: refused instead.
  await assertRetained(store, 'raw', from);
  const voided = await voidedKeys(store, type, from, to, tenants);
  for await (const page of store.scanEvents(type, from, to, tenants)) {
    yield voided.size === 0 ? page : page.filter((e) => !voided.has(eventKey(e.tenant, e.id)));
  }
}
