import type { EventRecord } from '../events/event.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import { formatScaled } from '../shared/decimal.ts';
import { formatMicros, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import type { Snapshot } from './status.ts';

/** Event type of recorded quota warnings (the alerts issue consumes these). */
export const WARNING_EVENT_TYPE = 'tally.quota.warning';
/** CloudEvents `source` of events Tally records itself for quotas. */
export const QUOTA_SOURCE = 'tally/quota';

/** Thresholds a warning is raised at. */
export const THRESHOLDS = ['80%', '100%', 'projected-overage'] as const;
export type Threshold = (typeof THRESHOLDS)[number];

/** A recorded warning as the API shows it. */
export interface QuotaWarning {
  id: string;
  tenant: string;
  meter: string;
  /** The entitlement's id when a plan has several on the meter. */
  entitlement?: string;
  plan: string;
  threshold: Threshold;
  enforcement: 'hard' | 'soft';
  periodStart: string;
  resetAt: string;
  usage: string;
  limit: string;
  projected: string;
  raisedAt: string;
}

/** Thresholds the snapshot has reached (nothing before the first unit of usage). */
export function reached(s: Snapshot): Threshold[] {
  const limit = s.entitlement.limit;
  if (s.usage <= 0n) return [];
  const out: Threshold[] = [];
  if (s.usage * 5n >= limit * 4n) out.push('80%');
  if (s.usage >= limit) out.push('100%');
  if (s.projected > limit) out.push('projected-overage');
  return out;
}

/**
 * Records each warning once per tenant/meter/period/threshold as an event through the ingest
 * path: its id is derived from those four, so the dedupe ledger keeps it unique across
 * restarts and nodes, and the in-memory set only saves needless writes.
 */
export class QuotaWarnings {
  private readonly raised = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  /** Warning writes that failed (retried at the next evaluation). */
  failures = 0;

  constructor(private readonly ingest: IngestService) {}

  /** Raises the thresholds `s` has reached that were not raised yet; never throws. */
  check(s: Snapshot): void {
    for (const t of reached(s)) {
      const key = `${s.tenant}\u0000${s.entitlement.id}\u0000${s.period.start}\u0000${t}`;
      if (this.raised.has(key)) continue;
      this.raised.add(key);
      const data = { meter: s.entitlement.meter, ...(s.entitlement.id === s.entitlement.meter ? {} : { entitlement: s.entitlement.id }), plan: s.entitlement.plan, threshold: t, enforcement: s.entitlement.hard ? 'hard' : 'soft', periodStart: formatMicros(s.period.start), resetAt: formatMicros(s.period.end), usage: formatScaled(s.usage), limit: formatScaled(s.entitlement.limit), projected: formatScaled(s.projected) };
      // Unguessable but the same on every node and after restarts: the ledger keeps it once.
      // The entitlement id is its meter unless a plan has several on one meter: ids stay as before.
      const id = this.ingest.internalId('qw', [s.tenant, s.entitlement.id, String(s.period.start), t]);
      const event = { specversion: '1.0', id, source: QUOTA_SOURCE, type: WARNING_EVENT_TYPE, subject: s.tenant, time: formatMicros(s.now), data };
      const failed = () => {
        this.failures++;
        this.raised.delete(key);
      };
      const p: Promise<void> = this.ingest
        .ingest([event], { internal: true })
        .then((r) => (r.rejected > 0 ? failed() : undefined), failed)
        .finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  /** Forgets what was raised for a period that is over (bounded memory). */
  forgetPeriod(tenant: string, entitlement: string, periodStart: EpochMicros): void {
    for (const t of THRESHOLDS) this.raised.delete(`${tenant}\u0000${entitlement}\u0000${periodStart}\u0000${t}`);
  }

  /** Waits for warnings being written, so a read right after sees them. */
  async flush(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  /** Recorded warnings raised in [from, to), oldest first. */
  async list(store: UsageStore, q: { from: EpochMicros; to: EpochMicros; tenants?: string[]; meter?: string }): Promise<QuotaWarning[]> {
    await this.flush();
    const out: QuotaWarning[] = [];
    for await (const page of store.scanEvents(WARNING_EVENT_TYPE, q.from, q.to, q.tenants)) {
      for (const e of page) {
        const w = toWarning(e);
        if (w !== undefined && (q.meter === undefined || w.meter === q.meter)) out.push(w);
      }
    }
    // Ids are HMACs: thresholds order warnings raised at the same instant.
    return out.sort((a, b) => a.raisedAt.localeCompare(b.raisedAt) || a.tenant.localeCompare(b.tenant) || a.meter.localeCompare(b.meter) || THRESHOLDS.indexOf(a.threshold) - THRESHOLDS.indexOf(b.threshold) || a.id.localeCompare(b.id));
  }
}

function toWarning(e: EventRecord): QuotaWarning | undefined {
  // Only Tally's own records (API keys cannot send this type or source; kept as a second guard).
  if (e.source !== QUOTA_SOURCE) return undefined;
  const d = e.data as Omit<QuotaWarning, 'id' | 'tenant' | 'raisedAt'>;
  return { id: e.id, tenant: e.tenant, ...d, raisedAt: formatMicros(e.time) };
}
