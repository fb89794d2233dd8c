import { eventKey, type EventRecord } from '../events/event.ts';
import { TallyError } from '../errors/registry.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import { evaluateMeter, isMeterProblem } from '../meters/evaluate.ts';
import type { Meter } from '../meters/meter.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { formatScaled, SCALE } from '../shared/decimal.ts';
import { formatMicros, type EpochMicros } from '../shared/time.ts';
import { passes, type Entitlement } from './catalog.ts';
import type { DecidedBy } from './counters.ts';
import type { QuotaService } from './quota-service.ts';
import { snapshot, type Snapshot } from './status.ts';
import { QUOTA_SOURCE } from './warnings.ts';

/** A consumption request (amount already parsed, scaled ×10^12). */
export interface ConsumeRequest {
  tenant: string;
  meter: string;
  amount: bigint;
  idempotencyKey: string;
  /** The rest of the usage event's data (dimensions, values other meters of its type read). */
  data?: Record<string, unknown>;
}

/** The answer: granted (new or a retried key), or denied with every violated entitlement. */
export type ConsumeResult =
  | { granted: true; duplicate: boolean; snapshot: Snapshot; decidedBy?: DecidedBy }
  | { granted: false; violated: Snapshot[]; decidedBy: DecidedBy };

const RECENT_KEYS = 100_000;

/**
 * `POST /v1/quota/consume`: check and record in one step. Every entitlement the usage event
 * counts toward is checked and reserved synchronously, all or nothing (so concurrent calls can
 * never overshoot a hard limit), then the event is stored through the ingest path with
 * id = idempotency key: the dedupe ledger makes a retried key count once, durably.
 */
export class QuotaConsumer {
  private readonly inflight = new Map<string, Promise<ConsumeResult>>();
  // Keys granted by this process: a retry answers "granted" even when the quota is now full.
  private readonly recent = new Set<string>();

  constructor(
    private readonly quota: QuotaService,
    private readonly ingest: IngestService,
    private readonly meters: MeterRegistry,
  ) {}

  consume(req: ConsumeRequest): Promise<ConsumeResult> {
    const key = eventKey(req.tenant, req.idempotencyKey);
    const running = this.inflight.get(key);
    if (running) return running.then((r) => (r.granted ? { ...r, duplicate: true } : r));
    const p = this.run(req, key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async run(req: ConsumeRequest, key: string): Promise<ConsumeResult> {
    const ent = this.quota.catalog.entitlementsOn(req.tenant, req.meter)[0];
    if (ent === undefined) throw new TallyError('NOT_FOUND', `tenant "${req.tenant}" has no entitlement for meter "${req.meter}"`);
    if (ent.aggregation === 'TIME_WEIGHTED_SUM') throw new TallyError('VALIDATION_FAILED', `meter: ${TIME_WEIGHTED_CONSUME(req.meter)}`, [{ path: 'body.meter', message: TIME_WEIGHTED_CONSUME(req.meter) }]);
    if (this.recent.has(key)) return { granted: true, duplicate: true, snapshot: await this.quota.status(req.tenant, ent.id) };
    const meter = this.meters.get(req.meter)!;
    if (req.amount <= 0n) throw invalid('amount', 'must be greater than 0');
    if (ent.aggregation === 'COUNT' && req.amount !== SCALE) throw invalid('amount', `meter "${meter.slug}" counts events: amount must be 1`);
    const now = this.quota.clock.nowMicros();
    const data = withAmount(meter, req);
    const event = { specversion: '1.0', id: req.idempotencyKey, source: QUOTA_SOURCE, type: meter.def.eventType, subject: req.tenant, time: formatMicros(now), data };
    const counted = this.entitlementsOf(req.tenant, event.type, data, now);
    const items = counted.map(([e, amount]) => this.quota.itemOf(req.tenant, e, amount, now));
    const { recorded, usages, periods, decidedBy } = await this.quota.counters.consumeAll(items);
    if (!recorded) {
      const violated = counted.flatMap(([e, amount], i) => (e.hard && usages[i]! + amount > e.limit ? [snapshot(req.tenant, e, this.quota.periodNow(e, now), now, usages[i]!, this.quota.projector)] : []));
      return { granted: false, violated, decidedBy };
    }
    // Given back only where it was counted (not when a failure policy admitted it uncounted).
    const release = () => (decidedBy.by === 'counters' ? this.quota.counters.add(items.map((it, i) => ({ ...it, period: periods[i]!, delta: -it.amount }))).catch(() => void this.quota.feedErrors++) : undefined);
    // Admitted uncounted by a failure policy: the feed counts the stored event (when Redis returns).
    if (decidedBy.by === 'counters') this.quota.reserved.set(key, now);
    let receipt;
    try {
      receipt = (await this.ingest.ingest([event], { internal: true })).receipts[0]!;
    } catch (err) {
      await release();
      if (err instanceof TallyError) throw err;
      throw new TallyError('STORE_UNAVAILABLE', `the store could not record the consumption: ${(err as Error).message}`);
    } finally {
      this.quota.reserved.delete(key);
    }
    if (receipt.status !== 'accepted') await release();
    if (receipt.status === 'rejected') throw new TallyError(receipt.code, receipt.message);
    this.remember(key);
    // The answer shows the first entitlement of the requested meter this consumption counted toward.
    const mine = counted.findIndex(([e]) => e.meter === req.meter);
    for (const [i, [e]] of counted.entries()) if (i !== mine) void this.quota.snapshotOf(req.tenant, e, now).catch(() => undefined);
    if (receipt.status === 'duplicate' || mine < 0) return { granted: true, duplicate: receipt.status === 'duplicate', snapshot: await this.quota.status(req.tenant, (counted[mine]?.[0] ?? ent).id), decidedBy };
    const own = counted[mine]![0];
    // The snapshot is the usage this call left (no second round trip); warnings are raised from it.
    const s = snapshot(req.tenant, own, this.quota.periodNow(own, now), now, usages[mine]!, this.quota.projector);
    this.quota.warnings.check(s);
    return { granted: true, duplicate: false, snapshot: s, decidedBy };
  }

  /** Every entitlement of the tenant the event counts toward, with its amount. */
  private entitlementsOf(tenant: string, type: string, data: Record<string, unknown>, now: EpochMicros): [Entitlement, bigint][] {
    const probe: EventRecord = { tenant, id: '', type, source: QUOTA_SOURCE, time: now, actor: null, data, dataJson: '', contentHash: '' };
    const out: [Entitlement, bigint][] = [];
    for (const m of this.meters.forType(type)) {
      const r = evaluateMeter(m, probe);
      if (isMeterProblem(r)) throw new TallyError(r.code, `data: ${r.message}`, [{ path: 'body.data', message: r.message }]);
      const ents = this.quota.catalog.entitlementsOn(tenant, m.slug);
      if (r === null || ents.length === 0) continue;
      for (const e of ents) {
        // TIME_WEIGHTED_SUM entitlements are soft and integrated on read: nothing to check or reserve.
        if (!passes(e, r.dims) || e.aggregation === 'TIME_WEIGHTED_SUM') continue;
        const amount = e.aggregation === 'COUNT' ? SCALE : (r.quantity ?? 0n);
        if (amount < 0n) throw invalid('data', `meter "${m.slug}" would record a negative amount; consumptions only add usage`);
        out.push([e, amount]);
      }
    }
    return out;
  }

  private remember(key: string): void {
    if (this.recent.size >= RECENT_KEYS) this.recent.delete(this.recent.values().next().value!);
    this.recent.add(key);
  }
}

/** Why a consumption cannot be checked against a TIME_WEIGHTED_SUM entitlement. */
const TIME_WEIGHTED_CONSUME = (meter: string) =>
  `meter "${meter}" is TIME_WEIGHTED_SUM: its usage is an integral over time (each sample held until the next), not a counter a call increments, so a call cannot be admitted or denied against it; send samples to POST /v1/events and read the usage from GET /v1/tenants/{tenant}/entitlements`;

function invalid(path: string, message: string): TallyError {
  return new TallyError('VALIDATION_FAILED', `${path}: ${message}`, [{ path: `body.${path}`, message }]);
}

/** The event data with the amount written where a SUM meter reads it (as exact decimal text). */
function withAmount(meter: Meter, req: ConsumeRequest): Record<string, unknown> {
  const data = structuredClone(req.data ?? {});
  if (meter.value === undefined || meter.value === 'actor') return data;
  let cur: Record<string, unknown> = data;
  const path = meter.value;
  for (const [i, step] of path.entries()) {
    if (typeof step === 'number') throw invalid('meter', `cannot write the amount into ${meter.def.valueProperty ?? ''}; send it in data`);
    if (i === path.length - 1) cur[step] = formatScaled(req.amount);
    else {
      const next = cur[step];
      cur = cur[step] = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
    }
  }
  return data;
}
