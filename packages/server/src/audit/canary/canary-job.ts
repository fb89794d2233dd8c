import { Gauge, type Registry } from 'prom-client';
import type { JobDefinition } from '../../jobs/job.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import type { Meter } from '../../meters/meter.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE, formatMicros, type EpochMicros } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import type { QueryService } from '../../usage/query-service.ts';
import type { CanaryConfig } from '../config.ts';
import { withinMs } from '../reconcile/reconciliation.ts';
import { compare, runRule, type ReconcileRule, type RuleResult, type RuleSummary } from '../reconcile/rule.ts';

/** The canary job's name. */
export const CANARY_JOB = 'canary';

/** What one canary run sent. */
interface Sent {
  at: EpochMicros;
  accepted: number;
  error?: string;
}

/** Sends canary events through the public ingest path (the node's own HTTP API with an ingest key). */
export type CanarySender = (events: Record<string, unknown>[]) => Promise<{ accepted: number; error?: string }>;

/** Reads the live counter of the canary (undefined where the profile has none for it). */
export type CanaryLiveReader = (tenant: string, series: string, day: string) => Promise<bigint | undefined>;

/**
 * `canary:<time>`: sends `events` known events for the canary tenant through the public ingest
 * path, then checks the batches sent between `windowSeconds` and `sloSeconds` ago (from the
 * recorded runs, so any node's batches count) against raw events, minute rollups, the query API
 * and the live counters; a batch the ingest refused is a failure too. Results are reconciliation
 * results (rules `canary.*`); the lag of the newest visible canary event is on /metrics.
 */
export class Canary {
  private runner: JobRunner | undefined;

  constructor(
    private readonly cfg: CanaryConfig,
    private readonly meter: Meter,
    private readonly store: UsageStore,
    private readonly queries: QueryService,
    private readonly send: CanarySender,
    private readonly live: CanaryLiveReader | undefined,
  ) {}

  attach(runner: JobRunner): void {
    this.runner = runner;
  }

  job(): JobDefinition {
    return {
      name: CANARY_JOB,
      description: `synthetic events for tenant "${this.cfg.tenant}" through the public ingest path, checked in raw, rollups, live counters and queries within ${this.cfg.sloSeconds} s`,
      schedule: this.cfg.schedule,
      rangeAt: (now) => formatMicros(now),
      run: async (ctx) => {
        const sent = await this.sendBatch(ctx.now, ctx.range);
        const history = await this.history();
        const scope = { day: formatMicros(ctx.now).slice(0, 10), from: ctx.now, to: ctx.now, now: ctx.now };
        const rules: RuleSummary[] = [];
        for (const r of this.rules(history, sent)) rules.push(await runRule(r, scope));
        const newest = await this.newestVisible(ctx.now);
        const lagSeconds = newest === undefined ? null : Math.max(0, (ctx.now - newest) / 1e6);
        return { day: scope.day, sent, lagSeconds, discrepancies: rules.reduce((n, r) => n + r.discrepancies + (r.status === 'error' ? 1 : 0), 0), rules };
      },
    };
  }

  private async sendBatch(now: EpochMicros, range: string): Promise<Sent> {
    const events = Array.from({ length: this.cfg.events }, (_, i) => ({ specversion: '1.0', id: `canary-${range}-${i}`, source: 'tally-canary', type: this.meter.def.eventType, subject: this.cfg.tenant, time: formatMicros(now), data: this.cfg.data }));
    try {
      const r = await this.send(events);
      return { at: now, accepted: r.accepted, ...(r.error ? { error: r.error } : {}) };
    } catch (err) {
      return { at: now, accepted: 0, error: (err as Error).message };
    }
  }

  /** Batches sent by earlier canary runs (any node), newest first. */
  private async history(): Promise<Sent[]> {
    if (!this.runner) return [];
    return (await this.runner.list({ job: CANARY_JOB, status: 'succeeded', limit: 1000 })).map((r) => (r.output as { sent?: Sent } | null)?.sent).filter((s): s is Sent => s !== undefined);
  }

  private rules(history: Sent[], sent: Sent): ReconcileRule[] {
    const { tenant, sloSeconds, windowSeconds } = this.cfg;
    const meter = this.meter;
    const store = this.store;
    const slo = sloSeconds * 1e6;
    const expectedIn = (from: number, to: number) => history.filter((h) => h.at >= from && h.at < to).reduce((n, h) => n + h.accepted, 0);
    return [
      {
        name: 'canary.ingest',
        description: 'the canary batch was accepted whole by the public ingest path',
        check: async (s) => [{ ...compare('canary.ingest', { tenant, at: formatMicros(s.now), ...(sent.error ? { error: sent.error.slice(0, 200) } : {}) }, BigInt(this.cfg.events), BigInt(sent.accepted), 'events') }],
      },
      {
        name: 'canary.raw',
        description: `every canary event sent between ${windowSeconds + sloSeconds} s and ${sloSeconds} s ago is a raw event`,
        check: async (s) => {
          const from = s.now - slo - windowSeconds * 1e6;
          const to = s.now - slo;
          let n = 0;
          let after: [number, string, string] | undefined;
          for (;;) {
            const page = await store.listEvents({ tenant, type: meter.def.eventType, from, to, limit: 1000, ...(after ? { after } : {}) });
            n += page.length;
            if (page.length < 1000) break;
            const last = page[page.length - 1]!;
            after = [last.time, last.tenant, last.id];
          }
          return [compare('canary.raw', { tenant, from: formatMicros(from), to: formatMicros(to) }, BigInt(expectedIn(from, to)), BigInt(n), 'events')];
        },
      },
      {
        name: 'canary.rollups',
        description: 'the minute rollups of the complete minutes older than the SLO count every canary event sent in them',
        check: async (s) => {
          const { from, to } = minutes(s.now, slo, windowSeconds);
          const rows = await store.aggregate({ meter: meter.series, from, to, windows: { kind: 'uniform', origin: from, width: to - from, count: 1 }, tenants: [tenant], groupByTenant: true, groupDims: [], filters: [], aggregation: meter.def.aggregation }, 'minute');
          return [compare('canary.rollups', { tenant, from: formatMicros(from), to: formatMicros(to) }, BigInt(expectedIn(from, to)), rows[0]?.components.count ?? 0n, 'events')];
        },
      },
      {
        name: 'canary.query',
        description: "the query API's answer for those minutes counts every canary event sent in them",
        check: async (s) => {
          const { from, to } = minutes(s.now, slo, windowSeconds);
          const r = await this.queries.query({ meter: meter.slug, from, to, tenants: [tenant] });
          return [compare('canary.query', { meter: meter.slug, tenant, from: formatMicros(from), to: formatMicros(to) }, BigInt(expectedIn(from, to)), BigInt(r.data[0]?.value ?? '0'), 'events')];
        },
      },
      ...(this.live
        ? [
            {
              name: 'canary.live-counters',
              description: "the live day counter holds every canary event sent today before the SLO, and no more than were sent since",
              check: async (s: { now: EpochMicros }): Promise<RuleResult[]> => {
                const dayStart = Math.floor(s.now / MICROS_PER_DAY) * MICROS_PER_DAY;
                const settled = expectedIn(dayStart, s.now - slo);
                const recent = expectedIn(s.now - slo, s.now) + sent.accepted;
                const live = (await this.live!(tenant, meter.series, formatMicros(dayStart).slice(0, 10))) ?? 0n;
                const r = compare('canary.live-counters', { tenant, day: formatMicros(dayStart).slice(0, 10), inFlightAllowed: String(recent) }, BigInt(settled), live, 'events');
                // Events younger than the SLO may or may not be counted yet.
                if (live >= BigInt(settled) && live <= BigInt(settled + recent)) r.status = 'ok';
                return [r];
              },
            },
          ]
        : []),
    ];
  }

  /** Time of the newest canary event visible in the raw table (within the check window). */
  private async newestVisible(now: EpochMicros): Promise<EpochMicros | undefined> {
    const from = now - (this.cfg.windowSeconds + this.cfg.sloSeconds) * 1e6;
    let newest: EpochMicros | undefined;
    let after: [number, string, string] | undefined;
    for (;;) {
      const page = await this.store.listEvents({ tenant: this.cfg.tenant, type: this.meter.def.eventType, from, limit: 1000, ...(after ? { after } : {}) });
      if (page.length > 0) newest = page[page.length - 1]!.time;
      if (page.length < 1000) return newest;
      const last = page[page.length - 1]!;
      after = [last.time, last.tenant, last.id];
    }
  }

  /** `tally_canary_lag_seconds`: now minus the newest canary event visible in raw, as of the latest run. */
  registerMetrics(registry: Registry): void {
    const history = async () => (this.runner ? await this.runner.list({ job: CANARY_JOB, status: 'succeeded', limit: 1 }) : []);
    new Gauge({
      name: 'tally_canary_lag_seconds',
      help: 'Seconds between the latest canary run and the newest canary event visible in the raw table (grows when the pipeline stalls)',
      registers: [registry],
      async collect() {
        // Keeps its last value when the run records cannot be read (the store down or slow).
        const runs = await withinMs(history(), 1000).catch(() => undefined);
        if (!runs) return;
        const lag = (runs[0]?.output as { lagSeconds?: number | null } | null)?.lagSeconds;
        this.set(lag ?? Number.NaN);
      },
    });
  }
}

/** The complete minutes older than the SLO, `windowSeconds` back. */
function minutes(now: EpochMicros, slo: number, windowSeconds: number): { from: EpochMicros; to: EpochMicros } {
  const to = Math.floor((now - slo) / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
  return { from: to - Math.ceil(windowSeconds / 60) * MICROS_PER_MINUTE, to };
}
