import type { JobDefinition } from '../../jobs/job.ts';
import { MICROS_PER_DAY, formatMicros, type EpochMicros } from '../../shared/time.ts';
import { advanceHorizons, cutoffOf, ledgerCutoff, readHorizons, type Horizons, type MetaStore, type RetentionConfig, type StoreTier } from './policy.ts';
import type { RetentionStore, TierDrop } from './port.ts';

/** A tier kept outside the usage store (access log, archive, alert history). */
export interface RetentionTarget {
  readonly tier: 'accessLog' | 'archive' | 'alerts';
  /** Deletes (or counts, in a preview) what is older than `cutoff`; returns the numbers. */
  drop(cutoff: EpochMicros, dryRun: boolean): Promise<Record<string, unknown>>;
}

/** What the retention service needs. */
export interface RetentionDeps {
  config: RetentionConfig;
  /** The ingest horizons the dedupe ledger must cover. */
  ingest: { backfillDays: number; maxFutureMicros: number };
  store: RetentionStore;
  meta: MetaStore;
  targets?: readonly RetentionTarget[];
}

/** One tier in a policy answer. */
export interface TierPolicy {
  tier: string;
  days: number | null;
  /** What a run at `now` would delete before (null: kept forever). */
  cutoff: string | null;
  /** Where the store's data of the tier starts after the runs so far (null: nothing deleted yet). */
  heldFrom: string | null;
}

/** The result of a run or a preview. */
export interface RetentionReport {
  dryRun: boolean;
  now: string;
  tiers: (TierDrop & { horizonAt: string })[];
  others: Record<string, Record<string, unknown>>;
  /** On-disk bytes of the usage store before and after (a preview: before only). */
  bytesBefore: number;
  bytesAfter: number | null;
}

const ROLLUP_TIERS = ['minute', 'hour', 'day', 'unique'] as const;

/**
 * Tiered retention (docs/privacy.md): raw events, rollups per resolution, unique facts, the
 * dedupe ledger, and the tiers outside the store. Each run records the new horizons BEFORE it
 * deletes, so a query either sees the data or refuses with RETENTION_EXCEEDED — never a
 * partial number. Raw ids still inside the backfill horizon go to the dedupe ledger, which is
 * dropped only once a re-send would be refused as too old: retention never breaks exactly-once.
 */
export class RetentionService {
  constructor(private readonly d: RetentionDeps) {}

  /** The policy as configured and the horizons reached. */
  async policy(now: EpochMicros): Promise<{ tiers: TierPolicy[]; ledgerDays: number; schedule: string }> {
    const held = await readHorizons(this.d.meta);
    const c = this.d.config;
    const row = (tier: string, days: number | null, h?: number): TierPolicy => ({ tier, days, cutoff: days === null ? null : formatMicros(now - days * MICROS_PER_DAY), heldFrom: h === undefined ? null : formatMicros(h) });
    const ledgerDays = this.ledgerDays();
    return {
      tiers: [
        row('raw', c.raw, held.raw),
        ...ROLLUP_TIERS.map((t) => row(t, c[t], held[t])),
        row('ledger', ledgerDays, held.ledger),
        row('accessLog', c.accessLog),
        row('archive', c.archive),
        row('alerts', c.alerts),
      ],
      ledgerDays,
      schedule: c.schedule,
    };
  }

  /** Days the dedupe ledger remembers an id after its event time (backfill + skew + one day). */
  ledgerDays(): number {
    return Math.ceil((this.d.ingest.backfillDays * MICROS_PER_DAY + this.d.ingest.maxFutureMicros) / MICROS_PER_DAY) + 1;
  }

  /** Runs retention at `now` (or previews it with `dryRun`). */
  async run(now: EpochMicros, dryRun: boolean): Promise<RetentionReport> {
    const bytesBefore = await this.d.store.diskBytes();
    const ledgerFrom = ledgerCutoff(now, this.d.ingest.backfillDays, this.d.ingest.maxFutureMicros);
    const plan: [StoreTier, EpochMicros | null][] = [
      ['raw', cutoffOf(now, this.d.config.raw)],
      ...ROLLUP_TIERS.map((t): [StoreTier, EpochMicros | null] => [t, cutoffOf(now, this.d.config[t])]),
      ['ledger', ledgerFrom],
    ];
    const previews: TierDrop[] = [];
    for (const [tier, cutoff] of plan) if (cutoff !== null) previews.push(await this.d.store.drop(tier, cutoff, { dryRun: true, ledgerFrom }));
    let tiers = previews;
    if (!dryRun) {
      // Every horizon is recorded (one meta write) before anything is deleted.
      await advanceHorizons(this.d.meta, { ...(Object.fromEntries(previews.map((p) => [p.tier, p.horizon])) as Horizons), ...ingestedOf(previews) });
      tiers = [];
      for (const [tier, cutoff] of plan) if (cutoff !== null) tiers.push(await this.d.store.drop(tier, cutoff, { dryRun: false, ledgerFrom }));
      // Late raw rows deleted after the preview counted: their ingest time too.
      await advanceHorizons(this.d.meta, ingestedOf(tiers));
    }
    const others: RetentionReport['others'] = {};
    for (const t of this.d.targets ?? []) {
      const days = this.d.config[t.tier];
      if (days !== null) others[t.tier] = await t.drop(now - days * MICROS_PER_DAY, dryRun);
    }
    return { dryRun, now: formatMicros(now), tiers: tiers.map((t) => ({ ...t, horizonAt: formatMicros(t.horizon) })), others, bytesBefore, bytesAfter: dryRun ? null : await this.d.store.diskBytes() };
  }
}

function ingestedOf(drops: readonly TierDrop[]): Horizons {
  const at = drops.find((d) => d.tier === 'raw')?.maxIngested;
  return at === undefined ? {} : { rawIngested: at };
}

/**
 * `retention:<YYYY-MM-DD>`: the daily run (schedule from `retention.schedule`, UTC), or on
 * demand (`tally retention run`, any range: the run uses the job's own clock). Safe to re-run.
 */
export function retentionJob(service: RetentionService, schedule: string): JobDefinition {
  return {
    name: 'retention',
    description: 'deletes what is older than each tier keeps (raw, rollups, facts, ledger, access log, archive, alerts); records the horizons first',
    schedule,
    rangeAt: (now) => formatMicros(now).slice(0, 10),
    async run(ctx) {
      await ctx.assertHeld();
      const r = await service.run(ctx.now, false);
      return { now: r.now, tiers: r.tiers.map((t) => ({ tier: t.tier, before: t.horizonAt, rows: t.rows, partitions: t.partitions, ...(t.ledgered !== undefined ? { ledgered: t.ledgered } : {}) })), others: r.others, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter };
    },
  };
}
