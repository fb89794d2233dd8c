import { TallyError } from '../../errors/registry.ts';
import type { IngestService, Receipt } from '../../ingest/ingest-service.ts';
import { RESERVED_SOURCE_PREFIX, RESERVED_TYPE_PREFIX } from '../../ingest/ingest-service.ts';
import { formatMicros, type Clock } from '../../shared/time.ts';
import type { StoredEvent, UsageStore } from '../../store/port.ts';
import { markCorrections } from './effective-events.ts';
import { CORRECTION_SOURCE, CORRECTION_TYPE, correctionOf, type CorrectionAction, type CorrectionData } from './correction.ts';

/** A correction as the API shows it. */
export interface CorrectionView {
  /** The correction record's own event id (`cor_…`, one per voided event). */
  id: string;
  tenant: string;
  action: CorrectionAction;
  /** The voided event. */
  event: string;
  eventType: string;
  reason: string;
  keyId: string;
  madeAt: string;
  replacement: string | null;
  /** The voided event's time (the record's time). */
  time: string;
}

/** A stored correction record as a {@link CorrectionView}. */
export function correctionView(e: StoredEvent): CorrectionView {
  const c = correctionOf(e)!;
  return { id: e.id, tenant: e.tenant, action: c.action, event: c.target.id, eventType: c.target.type, reason: c.reason, keyId: c.keyId, madeAt: c.madeAt, replacement: c.replacement, time: formatMicros(e.time) };
}

const CORRECTION_PAGE = 1000;

/**
 * Voids and amends events by recording corrections (never by deleting or rewriting): each
 * correction is an internal event ingested through the ordinary path, so both profiles count it
 * exactly where the voided event was counted. One correction per event: its id is derived from
 * (tenant, event id) with the server's secret, so the dedupe ledger refuses a second one.
 */
export class CorrectionService {
  constructor(
    private readonly store: UsageStore,
    private readonly ingest: IngestService,
    private readonly clock: Clock,
  ) {}

  /** The id of the correction of (tenant, id). */
  correctionId(tenant: string, id: string): string {
    return this.ingest.internalId('cor', [tenant, id]);
  }

  /** Voids one stored event; it stops counting everywhere, and stays in the raw table. */
  async void(tenant: string, id: string, reason: string, keyId: string): Promise<CorrectionView> {
    const target = await this.correctable(tenant, id);
    return this.record(target, 'void', reason, keyId, null);
  }

  /**
   * Voids one stored event and stores `replacement` (a CloudEvent with a new id, same tenant)
   * in its place. The replacement is stored first: a retry after a failure between the two steps
   * finds it stored (a duplicate without conflict) and records the void.
   */
  async amend(tenant: string, id: string, replacement: Record<string, unknown>, reason: string, keyId: string): Promise<{ correction: CorrectionView; replacement: Receipt }> {
    const target = await this.correctable(tenant, id);
    const subject = replacement.subject ?? tenant;
    if (subject !== tenant) throw new TallyError('VALIDATION_FAILED', `event.subject: the replacement must have the tenant "${tenant}"`, [{ path: 'body.event.subject', message: 'another tenant' }]);
    if (replacement.id === id) throw new TallyError('VALIDATION_FAILED', 'event.id: the replacement needs a new id (the voided event keeps its own)', [{ path: 'body.event.id', message: 'same id as the voided event' }]);
    const type = replacement.type;
    const source = replacement.source;
    if ((typeof type === 'string' && type.startsWith(RESERVED_TYPE_PREFIX)) || (typeof source === 'string' && source.startsWith(RESERVED_SOURCE_PREFIX))) {
      throw new TallyError('RESERVED_NAMESPACE', `a replacement cannot use the reserved "${RESERVED_TYPE_PREFIX}…" types or "${RESERVED_SOURCE_PREFIX}…" sources`);
    }
    const stored = (await this.ingest.ingest([{ ...replacement, subject: tenant }])).receipts[0]!;
    if (stored.status === 'rejected') throw new TallyError(stored.code, `event: ${stored.message}`, { receipts: [stored] });
    if (stored.status === 'duplicate' && stored.conflict) throw new TallyError('CONFLICT', `event.id: an event "${String(replacement.id)}" with other content is already stored for tenant "${tenant}"`);
    return { correction: await this.record(target, 'amend', reason, keyId, String(replacement.id)), replacement: stored };
  }

  /** The event (tenant, id) with every correction touching it: the one voiding it, and the amend it replaces an event for. */
  async forEvent(tenant: string, id: string): Promise<{ event: StoredEvent; corrections: CorrectionView[] }> {
    const [event] = await this.store.listEvents({ tenant, id, limit: 1 });
    if (!event) throw new TallyError('NOT_FOUND', `no event "${id}" for tenant "${tenant}"`);
    const corrections: CorrectionView[] = [];
    const [voiding] = await this.store.listEvents({ tenant, id: this.correctionId(tenant, id), limit: 1 });
    if (voiding) corrections.push(correctionView(voiding));
    for await (const c of this.list(tenant)) if (c.replacement === id) corrections.push(c);
    if (event.type === CORRECTION_TYPE) corrections.push(correctionView(event));
    return { event, corrections };
  }

  /** Every correction of a tenant (all tenants when undefined), in (time, tenant, id) order. */
  async *list(tenant?: string): AsyncIterable<CorrectionView> {
    let after: [number, string, string] | undefined;
    for (;;) {
      const page = await this.store.listEvents({ type: CORRECTION_TYPE, ...(tenant !== undefined ? { tenant } : {}), limit: CORRECTION_PAGE, ...(after ? { after } : {}) });
      for (const e of page) yield correctionView(e);
      if (page.length < CORRECTION_PAGE) return;
      const last = page[page.length - 1]!;
      after = [last.time, last.tenant, last.id];
    }
  }

  private async correctable(tenant: string, id: string): Promise<StoredEvent> {
    const [target] = await this.store.listEvents({ tenant, id, limit: 1 });
    if (!target) throw new TallyError('NOT_FOUND', `no event "${id}" for tenant "${tenant}" (in the distributed profile an event is found once a worker has stored it)`);
    if (target.type === CORRECTION_TYPE) throw new TallyError('VALIDATION_FAILED', 'a correction is immutable and cannot itself be corrected', [{ path: 'params.id', message: 'a correction record' }]);
    const [existing] = await this.store.listEvents({ tenant, id: this.correctionId(tenant, id), limit: 1 });
    if (existing) throw new TallyError('ALREADY_CORRECTED', `event "${id}" of tenant "${tenant}" was already corrected (${existing.id})`, { correction: correctionView(existing) });
    return target;
  }

  private async record(target: StoredEvent, action: CorrectionAction, reason: string, keyId: string, replacement: string | null): Promise<CorrectionView> {
    const data: CorrectionData = {
      action,
      target: { id: target.id, type: target.type, source: target.source, actor: target.actor, data: target.data, contentHash: target.contentHash },
      reason,
      keyId,
      madeAt: formatMicros(this.clock.nowMicros()),
      replacement,
    };
    const id = this.correctionId(target.tenant, target.id);
    await markCorrections(this.store);
    const event = { specversion: '1.0', id, source: CORRECTION_SOURCE, type: CORRECTION_TYPE, subject: target.tenant, time: formatMicros(target.time), data };
    const r = (await this.ingest.ingest([event], { internal: true })).receipts[0]!;
    if (r.status === 'rejected') throw new TallyError(r.code, `the correction could not be recorded: ${r.message}`);
    if (r.status === 'duplicate') throw new TallyError('ALREADY_CORRECTED', `event "${target.id}" of tenant "${target.tenant}" was already corrected (${id})`);
    return { id, tenant: target.tenant, action, event: target.id, eventType: target.type, reason, keyId, madeAt: data.madeAt, replacement, time: formatMicros(target.time) };
  }
}
