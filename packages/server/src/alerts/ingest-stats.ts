import { randomUUID } from 'node:crypto';
import type { IngestService, Receipt } from '../ingest/ingest-service.ts';
import { MICROS_PER_MINUTE, formatMicros, type Clock, type EpochMicros } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';

/** The internal event type of per-tenant ingest statistics (one per node, tenant and minute). */
export const INGEST_STATS_TYPE = 'tally.ingest.stats';
/** Their source (a reserved `tally/` source: clients cannot forge them). */
export const INGEST_STATS_SOURCE = 'tally/ingest-stats';

/** What one node counted for one tenant in one minute (receive time). */
export interface TenantMinute {
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Rejections by error code. */
  codes: Record<string, number>;
}

/**
 * Per-tenant ingest outcomes, counted in memory per receive minute and recorded as internal
 * `tally.ingest.stats` events through the ordinary ingest path once the minute is over — so they
 * are stored by the profile's store (DuckDB, or ClickHouse through the stream) and every node
 * reads every node's counts. Each process has its own id in the event ids, and a minute is
 * flushed once per process, so a retried flush is deduplicated, never counted twice. Counts of a
 * process killed before it flushed are lost (statistics for alerting, not billing). Rejected
 * events whose `subject` is not a valid tenant are not counted (no tenant to charge them to).
 */
export class IngestStats {
  private readonly counts = new Map<string, TenantMinute>();
  private readonly instance = randomUUID();
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly ingest: IngestService,
    private readonly clock: Clock,
  ) {}

  /** Starts counting client requests and flushing complete minutes every `flushMs`. */
  start(flushMs: number): void {
    this.ingest.onReceipts((receipts, tenants) => this.record(receipts, tenants));
    this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
    this.timer.unref();
  }

  private record(receipts: readonly Receipt[], tenants: readonly (string | undefined)[]): void {
    const minute = Math.floor(this.clock.nowMicros() / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    for (let i = 0; i < receipts.length; i++) {
      const tenant = tenants[i];
      if (tenant === undefined) continue;
      const key = `${minute}\u0000${tenant}`;
      let c = this.counts.get(key);
      if (!c) this.counts.set(key, (c = { accepted: 0, duplicates: 0, rejected: 0, codes: {} }));
      const r = receipts[i]!;
      if (r.status === 'accepted') c.accepted++;
      else if (r.status === 'duplicate') c.duplicates++;
      else {
        c.rejected++;
        c.codes[r.code] = (c.codes[r.code] ?? 0) + 1;
      }
    }
  }

  /**
   * Records the counts of the minutes before the current one (all of them with `all`, at stop).
   * A flush the store refuses keeps its counts for the next one (same ids: no double count).
   */
  async flush(all = false): Promise<void> {
    while (this.flushing) await this.flushing;
    const current = Math.floor(this.clock.nowMicros() / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    const due = [...this.counts.entries()].filter(([key]) => all || Number(key.slice(0, key.indexOf('\u0000'))) < current);
    if (due.length === 0) return;
    this.flushing = (async () => {
      for (let i = 0; i < due.length; i += 500) {
        const batch = due.slice(i, i + 500);
        const events = batch.map(([key, c]) => {
          const [minute, tenant] = key.split('\u0000') as [string, string];
          return { specversion: '1.0', id: this.ingest.internalId('ingst', [this.instance, tenant, minute]), source: INGEST_STATS_SOURCE, type: INGEST_STATS_TYPE, subject: tenant, time: formatMicros(Number(minute)), data: c };
        });
        const r = await this.ingest.ingest(events, { internal: true });
        if (r.rejected > 0) throw new Error(`ingest statistics refused: ${JSON.stringify(r.receipts.find((x) => x.status === 'rejected'))}`);
        for (const [key] of batch) this.counts.delete(key);
      }
    })().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Stops the timer and records everything counted so far. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true).catch(() => undefined);
  }
}

/** Per tenant, the recorded counts of every node for receive minutes in [from, to). */
export async function tenantIngestTotals(store: UsageStore, from: EpochMicros, to: EpochMicros, tenant?: string): Promise<Map<string, TenantMinute>> {
  const out = new Map<string, TenantMinute>();
  let after: [number, string, string] | undefined;
  for (;;) {
    const page = await store.listEvents({ type: INGEST_STATS_TYPE, from, to, limit: 1000, ...(tenant !== undefined ? { tenant } : {}), ...(after ? { after } : {}) });
    for (const e of page) {
      if (e.source !== INGEST_STATS_SOURCE) continue;
      const d = e.data as Partial<TenantMinute>;
      let t = out.get(e.tenant);
      if (!t) out.set(e.tenant, (t = { accepted: 0, duplicates: 0, rejected: 0, codes: {} }));
      t.accepted += d.accepted ?? 0;
      t.duplicates += d.duplicates ?? 0;
      t.rejected += d.rejected ?? 0;
      for (const [code, n] of Object.entries(d.codes ?? {})) t.codes[code] = (t.codes[code] ?? 0) + n;
    }
    if (page.length < 1000) return out;
    const last = page[page.length - 1]!;
    after = [last.time, last.tenant, last.id];
  }
}
